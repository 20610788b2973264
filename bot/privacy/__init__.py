"""Privacy: addresses become pseudonyms and identifying details leave message text before anything else sees them."""
