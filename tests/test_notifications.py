"""What's new (the top bar's bell): documents published for the user lately, unread since
they last looked, never one outside their audience."""

from __future__ import annotations

from kbportal import db as kbdb
from kbportal.models import User
from kbportal.services import notifications
from test_home import EMEA, World, download, publish, template, world  # noqa: F401 - fixtures and helpers
from factories import principal_of


def feed(user_id: int) -> list[notifications.FeedItem]:
    with kbdb.session_scope() as s:
        user = s.get(User, user_id)
        return notifications.feed(s, principal_of(s, user), user)


def unread(user_id: int) -> int:
    with kbdb.session_scope() as s:
        user = s.get(User, user_id)
        return notifications.unread_count(s, principal_of(s, user), user)


def look(user_id: int) -> None:
    with kbdb.session_scope() as s:
        notifications.mark_seen(s, s.get(User, user_id))


def test_a_partner_is_told_about_documents_of_their_audience_only(world, tmp_path):
    mine = publish(world, tmp_path, "APAC brochure")
    publish(world, tmp_path, "EMEA brochure", EMEA)
    publish(world, tmp_path, "APAC draft", publish=False)

    assert [item.card.id for item in feed(world.ana)] == [mine]
    assert unread(world.ana) == 1 and unread(world.eve) == 1


def test_looking_marks_what_is_there_as_read_and_newer_documents_are_unread(world, tmp_path):
    first = publish(world, tmp_path, "First brochure")
    look(world.ana)
    assert unread(world.ana) == 0

    second = publish(world, tmp_path, "Second brochure")

    assert unread(world.ana) == 1
    assert [(item.card.id, item.unread) for item in feed(world.ana)] == [(second, True), (first, False)]


def test_staff_are_told_about_publications_not_drafts(world, tmp_path):
    publish(world, tmp_path, "Unfinished", publish=False)

    assert feed(world.marketing) == [] and unread(world.marketing) == 0
