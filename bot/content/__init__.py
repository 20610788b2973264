"""The vetted content in locales/: loading, rendering for a channel, and checking."""
from bot.content.model import Entry, ReviewStatus
from bot.content.store import ContentError, ContentStore, Reply

__all__ = ["ContentError", "ContentStore", "Entry", "Reply", "ReviewStatus"]
