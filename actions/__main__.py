from actions.server import main

main()
