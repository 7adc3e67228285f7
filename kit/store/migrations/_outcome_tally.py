"""The SQL that keeps ``dashboard_outcome_tally`` (kit.store.models.DashboardOutcomeTally) in
step with the commitment, report and meeting tables, for each database: triggers, and the
rebuild from scratch. Migration 0015 installs both, ``kit.coordinators.tally`` runs the
rebuild. (A leading underscore: Tortoise loads no migration from this module.)

A campaign's commitments by ask and its reports' headcounts, by meeting status: a row per
(campaign, status, ask) counts commitments, and the row with ask "" sums the headcounts.
The meeting row holds neither figure by ask, so, unlike ``dashboard_tally``
(_dashboard_tally.py), these triggers sit on the tables the figures come from:

- a commitment or a report written, edited or deleted moves its meeting's row (looked up
  by the trigger: a meeting already deleted counts nowhere);
- a meeting moved to another campaign or status moves its commitments and headcount;
- a meeting about to be deleted takes its commitments and headcount out (BEFORE the
  delete: its cascade then removes rows whose meeting is gone, which count nowhere).

RSVPs touch none of this: they change only the meeting's tallies, which these triggers
don't watch, so they take no lock here. Rows that fall to zero stay, and readers skip them.
"""

from __future__ import annotations

TABLE = "dashboard_outcome_tally"
HEADCOUNTS = "''"  # the ask of the row that sums the reports' headcounts


def _upsert(select: str, column: str) -> str:
    """Add ``select``'s rows (campaign_id, status, ask, n) into ``column``."""
    return (
        f"INSERT INTO {TABLE} (campaign_id, status, ask, {column}) {select} "
        f"ON CONFLICT (campaign_id, status, ask) DO UPDATE "
        f"SET {column} = {TABLE}.{column} + excluded.{column};"
    )


def _row_in(r: str, ask: str, column: str, amount: str) -> str:
    """A commitment or report row ``r`` added under its meeting's campaign and status."""
    return _upsert(
        f"SELECT m.campaign_id, m.status, {ask}, {amount} FROM meeting m "
        f"WHERE m.id = {r}.meeting_id AND m.campaign_id IS NOT NULL",
        column,
    )


def _row_out(r: str, ask: str, column: str, amount: str) -> str:
    """A commitment or report row ``r`` taken out (nowhere if its meeting is gone)."""
    return (
        f"UPDATE {TABLE} SET {column} = {column} - {amount} WHERE ask = {ask} "
        f"AND (campaign_id, status) IN (SELECT m.campaign_id, m.status FROM meeting m "
        f"WHERE m.id = {r}.meeting_id);"
    )


def _commitment_in(r: str) -> str:
    return _row_in(r, f"{r}.ask", "commitments", "1")


def _commitment_out(r: str) -> str:
    return _row_out(r, f"{r}.ask", "commitments", "1")


def _report_in(r: str) -> str:
    return _row_in(r, HEADCOUNTS, "headcount", f"{r}.headcount")


def _report_out(r: str) -> str:
    return _row_out(r, HEADCOUNTS, "headcount", f"{r}.headcount")


def _meeting_in(r: str) -> str:
    """A meeting's commitments and headcount added under its campaign and status."""
    commitments = _upsert(
        f"SELECT {r}.campaign_id, {r}.status, c.ask, COUNT(*) FROM commitment c "
        f"WHERE c.meeting_id = {r}.id AND {r}.campaign_id IS NOT NULL GROUP BY c.ask",
        "commitments",
    )
    headcount = _upsert(
        f"SELECT {r}.campaign_id, {r}.status, {HEADCOUNTS}, rp.headcount FROM report rp "
        f"WHERE rp.meeting_id = {r}.id AND {r}.campaign_id IS NOT NULL",
        "headcount",
    )
    return f"{commitments} {headcount}"


def _meeting_out(r: str) -> str:
    """A meeting's commitments and headcount taken out of its campaign and status."""
    key = f"campaign_id = {r}.campaign_id AND status = {r}.status"
    mine = f"FROM commitment c WHERE c.meeting_id = {r}.id"
    return (
        f"UPDATE {TABLE} SET commitments = commitments - "
        f"(SELECT COUNT(*) {mine} AND c.ask = {TABLE}.ask) "
        f"WHERE {key} AND ask IN (SELECT c.ask {mine}); "
        f"UPDATE {TABLE} SET headcount = headcount - "
        f"(SELECT COALESCE(SUM(rp.headcount), 0) FROM report rp WHERE rp.meeting_id = {r}.id) "
        f"WHERE {key} AND ask = {HEADCOUNTS};"
    )


MOVED = "OLD.campaign_id IS DISTINCT FROM NEW.campaign_id OR OLD.status IS DISTINCT FROM NEW.status"
COMMITMENT_EDITED = "OLD.meeting_id IS DISTINCT FROM NEW.meeting_id OR OLD.ask IS DISTINCT FROM NEW.ask"
REPORT_EDITED = (
    "OLD.meeting_id IS DISTINCT FROM NEW.meeting_id OR OLD.headcount IS DISTINCT FROM NEW.headcount"
)


def _sqlite(name: str, when: str, table: str, body: str, condition: str = "") -> str:
    guard = f"WHEN {condition.replace('IS DISTINCT FROM', 'IS NOT')} " if condition else ""
    return f"CREATE TRIGGER {name} {when} ON {table} {guard}BEGIN {body} END"


SQLITE_TRIGGERS = [
    _sqlite("outcome_tally_commitment_insert", "AFTER INSERT", "commitment", _commitment_in("NEW")),
    _sqlite("outcome_tally_commitment_delete", "AFTER DELETE", "commitment", _commitment_out("OLD")),
    _sqlite(
        "outcome_tally_commitment_update", "AFTER UPDATE", "commitment",
        _commitment_out("OLD") + " " + _commitment_in("NEW"), COMMITMENT_EDITED,
    ),
    _sqlite("outcome_tally_report_insert", "AFTER INSERT", "report", _report_in("NEW")),
    _sqlite("outcome_tally_report_delete", "AFTER DELETE", "report", _report_out("OLD")),
    _sqlite(
        "outcome_tally_report_update", "AFTER UPDATE", "report",
        _report_out("OLD") + " " + _report_in("NEW"), REPORT_EDITED,
    ),
    _sqlite("outcome_tally_meeting_delete", "BEFORE DELETE", "meeting", _meeting_out("OLD")),
    _sqlite(
        "outcome_tally_meeting_update", "AFTER UPDATE", "meeting",
        _meeting_out("OLD") + " " + _meeting_in("NEW"), MOVED,
    ),
]  # fmt: skip


def _postgres(table: str, out: str, into: str, edited: str) -> list[str]:
    """A trigger function for ``table`` and its AFTER triggers (the update one guarded)."""
    name = f"outcome_tally_{table}"
    return [
        f"""CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN {out} END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') THEN {into} END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql""",
        f"CREATE TRIGGER {name}_insert_delete AFTER INSERT OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {name}()",
        f"CREATE TRIGGER {name}_update AFTER UPDATE ON {table} FOR EACH ROW "
        f"WHEN ({edited}) EXECUTE FUNCTION {name}()",
    ]


POSTGRES_TRIGGERS = [
    *_postgres("commitment", _commitment_out("OLD"), _commitment_in("NEW"), COMMITMENT_EDITED),
    *_postgres("report", _report_out("OLD"), _report_in("NEW"), REPORT_EDITED),
    f"""CREATE OR REPLACE FUNCTION outcome_tally_meeting() RETURNS trigger AS $$
BEGIN
  {_meeting_out("OLD")}
  IF TG_OP = 'UPDATE' THEN {_meeting_in("NEW")} RETURN NULL; END IF;
  RETURN OLD;
END $$ LANGUAGE plpgsql""",
    "CREATE TRIGGER outcome_tally_meeting_delete BEFORE DELETE ON meeting "
    "FOR EACH ROW EXECUTE FUNCTION outcome_tally_meeting()",
    f"CREATE TRIGGER outcome_tally_meeting_update AFTER UPDATE ON meeting FOR EACH ROW "
    f"WHEN ({MOVED}) EXECUTE FUNCTION outcome_tally_meeting()",
]


# --- New hosts: who hosts the planned meetings that grew from a campaign's meetings ----------
#
# ``dashboard_host_tally`` counts, for each campaign and host, the planned meetings the host
# holds that grew from one of the campaign's meetings; the campaign's new hosts are its
# rows above zero. A meeting counts as a child (its parent's campaign, its host) and moves
# its children as a parent (its campaign). Each row's change and its tally step are one:
# on SQLite a row trigger runs as its row changes; on PostgreSQL BEFORE triggers do (an
# AFTER trigger runs at the statement's end and would read a parent or child that a later
# row of the same UPDATE already changed). A meeting about to be deleted takes itself and
# its children out first; its children's grew_from set to NULL then finds no parent.

HOSTS = "dashboard_host_tally"
PLANNED = "('pending', 'published', 'completed')"


def _parent_campaign(r: str) -> str:
    return (
        f"(CASE WHEN {r}.grew_from_id = {r}.id THEN {r}.campaign_id "
        f"ELSE (SELECT p.campaign_id FROM meeting p WHERE p.id = {r}.grew_from_id) END)"
    )


def _hosts_upsert(select: str) -> str:
    return (
        f"INSERT INTO {HOSTS} (campaign_id, host_id, meetings) {select} "
        f"ON CONFLICT (campaign_id, host_id) DO UPDATE "
        f"SET meetings = {HOSTS}.meetings + excluded.meetings;"
    )


def _child_in(r: str) -> str:
    return _hosts_upsert(
        f"SELECT k.campaign_id, {r}.host_id, 1 FROM (SELECT {_parent_campaign(r)} AS campaign_id) k "
        f"WHERE k.campaign_id IS NOT NULL AND {r}.status IN {PLANNED}"
    )


def _child_out(r: str) -> str:
    return (
        f"UPDATE {HOSTS} SET meetings = meetings - 1 WHERE host_id = {r}.host_id "
        f"AND campaign_id = {_parent_campaign(r)} AND {r}.status IN {PLANNED};"
    )


def _children(r: str) -> str:
    return f"FROM meeting c WHERE c.grew_from_id = {r}.id AND c.id <> {r}.id AND c.status IN {PLANNED}"


def _parent_in(r: str, when: str = "") -> str:
    return _hosts_upsert(
        f"SELECT {r}.campaign_id, c.host_id, COUNT(*) {_children(r)} "
        f"AND {r}.campaign_id IS NOT NULL {when} GROUP BY c.host_id"
    )


def _parent_out(r: str, when: str = "") -> str:
    return (
        f"UPDATE {HOSTS} SET meetings = meetings - "
        f"(SELECT COUNT(*) {_children(r)} AND c.host_id = {HOSTS}.host_id) "
        f"WHERE campaign_id = {r}.campaign_id {when} AND host_id IN (SELECT c.host_id {_children(r)});"
    )


HOSTS_WATCHED = " OR ".join(
    f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in ("grew_from_id", "status", "host_id", "campaign_id")
)
MOVED_CAMPAIGN = "AND OLD.campaign_id IS DISTINCT FROM NEW.campaign_id"
_sqlite_moved = MOVED_CAMPAIGN.replace("IS DISTINCT FROM", "IS NOT")

SQLITE_TRIGGERS += [
    _sqlite("host_tally_meeting_insert", "AFTER INSERT", "meeting", _child_in("NEW")),
    _sqlite(
        "host_tally_meeting_delete", "BEFORE DELETE", "meeting",
        _child_out("OLD") + " " + _parent_out("OLD"),
    ),
    _sqlite(
        "host_tally_meeting_update", "AFTER UPDATE", "meeting",
        " ".join([_child_out("OLD"), _child_in("NEW"), _parent_out("OLD", _sqlite_moved),
                  _parent_in("NEW", _sqlite_moved)]),
        HOSTS_WATCHED,
    ),
]  # fmt: skip
POSTGRES_TRIGGERS += [
    f"""CREATE OR REPLACE FUNCTION host_tally_meeting() RETURNS trigger AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN {_child_out("OLD")} END IF;
  IF TG_OP = 'DELETE' THEN {_parent_out("OLD")} RETURN OLD; END IF;
  IF TG_OP = 'UPDATE' AND OLD.campaign_id IS DISTINCT FROM NEW.campaign_id THEN
    {_parent_out("OLD")} {_parent_in("NEW")}
  END IF;
  {_child_in("NEW")}
  RETURN NEW;
END $$ LANGUAGE plpgsql""",
    "CREATE TRIGGER host_tally_meeting_insert_delete BEFORE INSERT OR DELETE ON meeting "
    "FOR EACH ROW EXECUTE FUNCTION host_tally_meeting()",
    f"CREATE TRIGGER host_tally_meeting_update BEFORE UPDATE ON meeting FOR EACH ROW "
    f"WHEN ({HOSTS_WATCHED}) EXECUTE FUNCTION host_tally_meeting()",
]


def rebuild() -> list[str]:
    """Every row counted again from the commitments and reports (run it in one transaction)."""
    planned = "FROM meeting m JOIN {t} ON {a}.meeting_id = m.id WHERE m.campaign_id IS NOT NULL"
    return [
        f"DELETE FROM {TABLE}",
        f"INSERT INTO {TABLE} (campaign_id, status, ask, commitments) "
        f"SELECT m.campaign_id, m.status, c.ask, COUNT(*) "
        f"{planned.format(t='commitment c', a='c')} GROUP BY m.campaign_id, m.status, c.ask",
        f"INSERT INTO {TABLE} (campaign_id, status, ask, headcount) "
        f"SELECT m.campaign_id, m.status, {HEADCOUNTS}, SUM(rp.headcount) "
        f"{planned.format(t='report rp', a='rp')} GROUP BY m.campaign_id, m.status",
        f"DELETE FROM {HOSTS}",
        f"INSERT INTO {HOSTS} (campaign_id, host_id, meetings) "
        f"SELECT parent.campaign_id, child.host_id, COUNT(*) FROM meeting child "
        f"JOIN meeting parent ON parent.id = child.grew_from_id "
        f"WHERE child.status IN {PLANNED} AND parent.campaign_id IS NOT NULL "
        f"GROUP BY parent.campaign_id, child.host_id",
    ]


TRIGGERS = {"sqlite": SQLITE_TRIGGERS, "postgres": POSTGRES_TRIGGERS}


def install(dialect: str) -> list[str]:
    """The triggers, then the backfill."""
    return TRIGGERS[dialect] + rebuild()
