"""The assistant's gateway and tooling: settings, content, language handling, training and the command line."""
