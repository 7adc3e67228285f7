"""A meeting's preview card (og:image): which public facts it shows, drawn off the loop."""

from __future__ import annotations

import anyio

from kit.core.rendering import local_time
from kit.meetings.public import public_location
from kit.store.models import Meeting
from kit.toolkit.cards import Card, render_card

APP_NAME = "House Meeting Kit"
# Drawing takes a few tens of milliseconds of CPU: one at a time, off the event loop.
_card_limiter = anyio.CapacityLimiter(1)


def card_place(meeting: Meeting) -> str:
    """The town as the meeting page shows it: "Near <town>" for a home, never a street."""
    place = public_location(meeting)
    town = " ".join(part for part in (place["locality"], place["postal_code"]) if part)
    return f"Near {town}" if place["approximate"] else town


def meeting_to_card(meeting: Meeting) -> Card:
    return Card(
        title=meeting.title,
        when=local_time(meeting.starts_at, meeting.timezone),
        town=card_place(meeting),
        site=APP_NAME,
    )


async def render_meeting_card(meeting: Meeting) -> bytes:
    """The PNG, cached by its words (kit.toolkit.cards.render_card)."""
    card = meeting_to_card(meeting)
    return await anyio.to_thread.run_sync(render_card, card, limiter=_card_limiter)
