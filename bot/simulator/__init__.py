"""The local simulator: its page (index.html, static/) and its advocates' side (advocates.py)."""
