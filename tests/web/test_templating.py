"""What the page helpers write: a select's options, and result cards kept per content."""

from __future__ import annotations

from datetime import UTC, datetime

from kit.core.rendering import option_tags
from kit.store.models import Meeting
from kit.web.templating import card_renderer, make_templates


def test_options_are_escaped_and_the_current_one_selected() -> None:
    html = option_tags([("", "Any"), ("FR", "France"), ("<x>", 'Tom & "Jerry"'), "plain"], "FR")
    assert html.splitlines()[0] == '<option value="">Any</option>'
    assert '<option value="FR" selected>France</option>' in html
    assert '<option value="&lt;x&gt;">Tom &amp; &#34;Jerry&#34;</option>' in html
    assert '<option value="plain">plain</option>' in html
    assert html.count(" selected") == 1
    assert " selected" not in option_tags(["a", "b"], "c")


def card_meeting(seats_taken: int, title: str = "Living room talk") -> Meeting:
    return Meeting(
        public_id="abcdefghijkl",
        title=title,
        starts_at=datetime(2027, 1, 5, 23, 30, tzinfo=UTC),
        timezone="America/New_York",
        locality="Harlem",
        postal_code="10027",
        capacity=10,
        seats_taken=seats_taken,
    )


def test_a_kept_card_follows_every_change_it_shows() -> None:
    card = card_renderer(make_templates().env)
    first = card(card_meeting(seats_taken=7), "0.5 mi")
    assert "3 seats left" in first and "about 0.5 mi away" in first
    assert "Tue Jan 5, 2027" in first and "6:30" in first  # the meeting's own clock
    assert card(card_meeting(seats_taken=7), "0.5 mi") == first
    assert "2 seats left" in card(card_meeting(seats_taken=8), "0.5 mi")
    assert "Full: waitlist" in card(card_meeting(seats_taken=10), "0.5 mi")
    assert "Book club" in card(card_meeting(seats_taken=7, title="Book club"), "0.5 mi")
    assert "away" not in card(card_meeting(seats_taken=7), "")
    assert "&lt;b&gt;" in card(card_meeting(seats_taken=7, title="<b>"), "")
