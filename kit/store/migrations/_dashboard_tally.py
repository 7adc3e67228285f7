"""The SQL that keeps ``dashboard_tally`` (kit.store.models.DashboardTally) in step with the
meeting table, for each database: triggers, and the rebuild from scratch. Migration 0014
installs both, ``kit.coordinators.tally`` runs the rebuild. (A leading underscore:
Tortoise loads no migration from this module.)

Why triggers: everything a dashboard sums lands on the meeting row, its status, place,
week and the per-meeting tallies ``kit.meetings.tallies`` recounts whenever its RSVPs or
report change. A trigger on that one table moves the campaign's sums in the same
transaction as every writer, the domain functions and the bulk loads around them alike
(``kit demo``, imports, the benchmark's ``COPY``), with no call anyone can forget.

A meeting counts in two rows: its place (week "") and its ISO week (the Monday of its
start, UTC, the week the dashboard always showed, place ""). A change takes the old row
out (an UPDATE, never an insert, so emptying the tables in any order leaves nothing
negative behind) and puts the new one in (an upsert). Rows that fall to zero meetings
stay, and the dashboard skips them.
"""

from __future__ import annotations

from tortoise.migrations import operations as ops

TABLE = "dashboard_tally"
KEY = ("campaign_id", "week", "status", "country", "region", "locality")
SUMS = ("meetings", "reported", "rsvps", "attended", "committed", "commitments")
# What a meeting row adds to each sum; {r} is NEW, OLD or a table alias.
ADDS = (
    "1",
    "CASE WHEN {r}.reported THEN 1 ELSE 0 END",
    "{r}.rsvp_count",
    "{r}.attendee_count",
    "{r}.committed_count",
    "{r}.commitment_count",
)
WATCHED = (
    "campaign_id", "status", "country", "region", "locality", "starts_at", "reported",
    "rsvp_count", "attendee_count", "committed_count", "commitment_count",
)  # fmt: skip
WEEK = {
    "sqlite": "date({r}.starts_at, 'weekday 0', '-6 days')",
    "postgres": "to_char(date_trunc('week', {r}.starts_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD')",
}


def _keys(dialect: str, r: str, grain: str) -> tuple[str, ...]:
    """The key of a meeting's place row or week row, as SQL over ``r``."""
    if grain == "place":
        return (f"{r}.campaign_id", "''", f"{r}.status", f"{r}.country", f"{r}.region",
                f"{r}.locality")  # fmt: skip
    week = WEEK[dialect].format(r=r)
    return f"{r}.campaign_id", week, f"{r}.status", "''", "''", "''"


def _add(dialect: str, r: str, grain: str) -> str:
    values = ", ".join(_keys(dialect, r, grain) + tuple(a.format(r=r) for a in ADDS))
    summed = ", ".join(f"{s} = {TABLE}.{s} + excluded.{s}" for s in SUMS)
    return (
        f"INSERT INTO {TABLE} ({', '.join(KEY + SUMS)}) SELECT {values} "
        f"WHERE {r}.campaign_id IS NOT NULL "
        f"ON CONFLICT ({', '.join(KEY)}) DO UPDATE SET {summed};"
    )


def _take_out(dialect: str, r: str, grain: str) -> str:
    less = ", ".join(f"{s} = {s} - ({a.format(r=r)})" for s, a in zip(SUMS, ADDS, strict=True))
    where = " AND ".join(f"{k} = {v}" for k, v in zip(KEY, _keys(dialect, r, grain), strict=True))
    return f"UPDATE {TABLE} SET {less} WHERE {where};"


def _out(dialect: str) -> str:
    return " ".join(_take_out(dialect, "OLD", g) for g in ("place", "week"))


def _in(dialect: str) -> str:
    return " ".join(_add(dialect, "NEW", g) for g in ("place", "week"))


def _changed() -> str:
    return " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in WATCHED)


SQLITE_TRIGGERS = [
    f"CREATE TRIGGER dashboard_tally_insert AFTER INSERT ON meeting BEGIN {_in('sqlite')} END",
    f"CREATE TRIGGER dashboard_tally_delete AFTER DELETE ON meeting BEGIN {_out('sqlite')} END",
    f"CREATE TRIGGER dashboard_tally_update AFTER UPDATE ON meeting "
    f"WHEN {_changed().replace('IS DISTINCT FROM', 'IS NOT')} "
    f"BEGIN {_out('sqlite')} {_in('sqlite')} END",
]
POSTGRES_TRIGGERS = [
    f"""CREATE OR REPLACE FUNCTION dashboard_tally_meeting() RETURNS trigger AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN {_out("postgres")} END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') THEN {_in("postgres")} END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql""",
    "CREATE TRIGGER dashboard_tally_insert_delete AFTER INSERT OR DELETE ON meeting "
    "FOR EACH ROW EXECUTE FUNCTION dashboard_tally_meeting()",
    f"CREATE TRIGGER dashboard_tally_update AFTER UPDATE ON meeting FOR EACH ROW "
    f"WHEN ({_changed()}) EXECUTE FUNCTION dashboard_tally_meeting()",
]
TRIGGERS = {"sqlite": SQLITE_TRIGGERS, "postgres": POSTGRES_TRIGGERS}


def _rebuild_grain(dialect: str, grain: str) -> str:
    keys = _keys(dialect, "m", grain)
    grouped = ", ".join(k for k in keys if k != "''")
    sums = ", ".join(f"SUM({a.format(r='m')})" for a in ADDS)
    return (
        f"INSERT INTO {TABLE} ({', '.join(KEY + SUMS)}) "
        f"SELECT {', '.join(keys)}, {sums} FROM meeting m WHERE m.campaign_id IS NOT NULL "
        f"GROUP BY {grouped}"
    )


def rebuild(dialect: str) -> list[str]:
    """Every row counted again from the meetings (run it in one transaction)."""
    return [f"DELETE FROM {TABLE}"] + [_rebuild_grain(dialect, g) for g in ("place", "week")]


class RunStatements(ops.RunSQL):
    """Whole statements for each database, forward only. (RunSQL on SQLite splits its text
    at every ";", which cuts a trigger's body apart.)"""

    def __init__(self, by_dialect: dict[str, list[str]]) -> None:
        super().__init__(by_dialect["sqlite"])
        self.by_dialect = by_dialect

    async def database_forward(self, app_label, old_state, new_state, state_editor=None):
        if state_editor is None:
            return
        for statement in self.by_dialect[state_editor.client.capabilities.dialect]:
            if state_editor.collect_sql:
                state_editor.collected_sql.append(statement)
            else:
                await state_editor.client.execute_query(statement)


def install(dialect: str) -> list[str]:
    """The triggers, then the backfill."""
    return TRIGGERS[dialect] + rebuild(dialect)
