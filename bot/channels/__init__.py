"""One adapter per channel: verify, parse to an InboundMessage (or ignore), send. Raw addresses live only here."""
