"""A read whose SQL is built once gives what awaiting its QuerySet gives."""

from __future__ import annotations

from typing import Any

from tortoise.models import Model
from tortoise.transactions import in_transaction

from kit.meetings.service import BY_PUBLIC_ID
from kit.store.models import Campaign, Meeting
from kit.store.sql import Prepared
from tests.factories import make_campaign, make_meeting


def fields_of(obj: Model | None) -> dict[str, Any] | None:
    if obj is None:
        return None
    return {name: getattr(obj, name) for name in obj._meta.db_fields}


async def assert_same(prepared: Meeting | None, queried: Meeting | None) -> None:
    assert fields_of(prepared) == fields_of(queried)
    assert prepared is not None and queried is not None
    for related in ("campaign", "host"):
        mine, theirs = getattr(prepared, related), getattr(queried, related)
        assert fields_of(mine) == fields_of(theirs), related
    assert not prepared._partial and prepared._saved_in_db


async def test_a_meeting_with_its_campaign_and_host_equals_the_querysets(db: str) -> None:
    campaign = await make_campaign()
    with_campaign = (await make_meeting(campaign=campaign.slug)).meeting
    without = (await make_meeting()).meeting
    for meeting in (with_campaign, without):
        queried = await Meeting.get(public_id=meeting.public_id).select_related("campaign", "host")
        await assert_same(await BY_PUBLIC_ID.first(meeting.public_id), queried)
    assert (await BY_PUBLIC_ID.first(with_campaign.public_id)).campaign.slug == campaign.slug  # type: ignore[union-attr]
    assert (await BY_PUBLIC_ID.first(without.public_id)).campaign is None  # type: ignore[union-attr]
    assert await BY_PUBLIC_ID.first("no-such-meet") is None


async def test_each_call_binds_its_own_values(db: str) -> None:
    first, second = (await make_meeting()).meeting, (await make_meeting()).meeting
    assert (await BY_PUBLIC_ID.first(first.public_id)).id == first.id  # type: ignore[union-attr]
    assert (await BY_PUBLIC_ID.first(second.public_id)).id == second.id  # type: ignore[union-attr]
    by_name = Prepared(Campaign, lambda slug, name: Campaign.filter(slug=slug, name=name))
    campaign = await make_campaign(slug="two-values")
    assert [c.id for c in await by_name.all(campaign.slug, campaign.name)] == [campaign.id]
    assert await by_name.all(campaign.slug, "another name") == []


async def test_inside_a_transaction_it_reads_the_transactions_rows(db: str) -> None:
    meeting = (await make_meeting()).meeting
    async with in_transaction():
        await Meeting.filter(id=meeting.id).update(title="Renamed, not yet committed")
        seen = await BY_PUBLIC_ID.first(meeting.public_id)
        assert seen is not None and seen.title == "Renamed, not yet committed"
