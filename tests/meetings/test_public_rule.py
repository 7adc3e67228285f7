"""The "visible" and "listed" rules: the Python predicate and its database twins
(the ORM's Q and the raw SQL the searches use) pick the same meetings, for every
status, visibility and start (past, this very instant, future)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from kit.meetings.public import VISIBLE_STATUSES, is_listed, is_visible, listed_q, listed_sql
from kit.store.models import Meeting, MeetingStatus, Visibility
from kit.store.sql import SqlParams
from tests.factories import make_meeting

NOW = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
STARTS = {"past": NOW - timedelta(days=1), "now": NOW, "future": NOW + timedelta(hours=1)}


async def every_combination() -> dict[str, tuple[MeetingStatus, Visibility, str]]:
    """One meeting for each (status, visibility, start); public id -> its combination."""
    made = {}
    for status, visibility, when in itertools.product(MeetingStatus, Visibility, STARTS):
        meeting = (await make_meeting(title=f"{status} {visibility} {when}")).meeting
        starts_at = STARTS[when]
        await Meeting.filter(id=meeting.id).update(
            status=status,
            visibility=visibility,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=2),
        )
        made[meeting.public_id] = (status, visibility, when)
    return made


async def sql_ids(conditions: list[str], p: SqlParams) -> set[str]:
    conn = Meeting._meta.db
    sql = f"SELECT public_id FROM meeting WHERE {' AND '.join(conditions)}"
    return {row["public_id"] for row in await conn.execute_query_dict(sql, p.values)}


async def test_listed_is_one_rule_in_python_the_orm_and_sql(db: str) -> None:
    made = await every_combination()
    assert len(made) == len(MeetingStatus) * len(Visibility) * len(STARTS)
    expected = {
        pid
        for pid, (status, visibility, when) in made.items()
        if (status, visibility, when) == (MeetingStatus.PUBLISHED, Visibility.PUBLIC, "future")
    }
    assert len(expected) == 1
    meetings = await Meeting.all()
    assert {m.public_id for m in meetings if is_listed(m, NOW)} == expected
    assert set(await Meeting.filter(listed_q(NOW)).values_list("public_id", flat=True)) == expected
    dialect = Meeting._meta.db.capabilities.dialect
    p = SqlParams(dialect)
    assert await sql_ids(listed_sql(p, NOW), p) == expected
    p = SqlParams(dialect)
    assert await sql_ids(listed_sql(p, NOW, p.filter_only), p) == expected


async def test_visible_is_published_cancelled_or_completed_whatever_else(db: str) -> None:
    made = await every_combination()
    expected = {
        pid
        for pid, (status, _, _) in made.items()
        if status in {MeetingStatus.PUBLISHED, MeetingStatus.CANCELLED, MeetingStatus.COMPLETED}
    }
    assert len(expected) == 3 * len(Visibility) * len(STARTS)
    assert {m.public_id for m in await Meeting.all() if is_visible(m)} == expected
    in_db = await Meeting.filter(status__in=VISIBLE_STATUSES).values_list("public_id", flat=True)
    assert set(in_db) == expected
