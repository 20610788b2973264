"""Where the gateway keeps state: ephemeral (routes, duplicate markers, rate counters) and anonymous counts."""
