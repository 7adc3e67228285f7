"""Raw rows made into model objects on the hot paths hold what Tortoise would give."""

from __future__ import annotations

from typing import Any

from kit.meetings.search import CAMPAIGN_SHOWN, PUBLIC_COLUMNS
from kit.store.models import Campaign, Meeting
from kit.store.sql import partial_model
from tests.factories import make_campaign, make_meeting


async def raw_row(model: type[Campaign | Meeting], pk: int) -> dict[str, Any]:
    columns = ", ".join(model._meta.fields_db_projection.values())
    conn = model._meta.db
    mark = "$1" if conn.capabilities.dialect == "postgres" else "?"
    rows = await conn.execute_query_dict(
        f"SELECT {columns} FROM {model._meta.db_table} WHERE id = {mark}", [pk]
    )
    return rows[0]


async def test_a_partial_model_equals_tortoises_own_for_its_columns(db: str) -> None:
    campaign = await make_campaign()
    meeting = (await make_meeting(campaign=campaign.slug)).meeting
    for model, pk, columns in (
        (Meeting, meeting.id, PUBLIC_COLUMNS),
        (Campaign, campaign.id, CAMPAIGN_SHOWN),
    ):
        row = await raw_row(model, pk)
        ours = partial_model(model, row, columns)
        theirs = model._init_from_db(**row)
        for column in columns:
            name = model._meta.fields_db_projection_reverse.get(column, column)
            mine, tortoise = getattr(ours, name), getattr(theirs, name)
            assert (mine, type(mine)) == (tortoise, type(tortoise)), column
        assert ours._partial and ours._saved_in_db
