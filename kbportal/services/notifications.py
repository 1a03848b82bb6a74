"""What's new for a user (the top bar's bell): documents they may see that were published
or got a new published version in the last WINDOW_DAYS, newest first, and how many of
them arrived since the user last looked (``User.feed_seen_at``). Everything goes through
the library's own access-checked queries: nobody is told about a document they may not open."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlmodel import Session

from kbportal.models import User
from kbportal.services import repository
from kbportal.services.access import Principal
from kbportal.timeutil import utcnow

WINDOW_DAYS = 30
FEED_SIZE = 8


@dataclass(frozen=True)
class FeedItem:
    card: repository.DocumentCard
    unread: bool  # published after the user last looked


def _since(user: User, now: datetime) -> datetime:
    """Unread = published after this moment: the last look, at most WINDOW_DAYS ago."""
    window = now - timedelta(days=WINDOW_DAYS)
    seen = user.feed_seen_at
    if seen is None:
        return window
    return max(seen if seen.tzinfo else seen.replace(tzinfo=timezone.utc), window)


def unread_count(session: Session, principal: Principal, user: User) -> int:
    return repository.count_published_since(session, principal, _since(user, utcnow()))


def feed(session: Session, principal: Principal, user: User, reader_language: str = "") -> list[FeedItem]:
    now = utcnow()
    since = _since(user, now)
    cards = repository.recently_published(session, principal, since=now - timedelta(days=WINDOW_DAYS),
                                          limit=FEED_SIZE, reader_language=reader_language)
    return [FeedItem(card=card, unread=card.published_at is not None and card.published_at > since)
            for card in cards]


def mark_seen(session: Session, user: User) -> None:
    """The user looked: what is listed now is no longer unread."""
    user.feed_seen_at = utcnow()
    session.add(user)
    session.flush()
