from tortoise import migrations

from kit.store.migrations._operations import RunSQLByDialect

# A spatial index on the public point of every published public meeting, the one the
# searches near a point use (kit.meetings.search). No model changes: the index lives
# beside the table, so the autodetector sees nothing.
#
# SQLite: an R*Tree (built in) over (latitude, longitude), kept in step by triggers.
# It holds published public meetings only. R*Tree coordinates are 32-bit floats
# rounded outwards: the box is a prefilter, the meeting's row decides. (Auxiliary
# R*Tree columns holding the exact point and start were measured too: reading them
# costs a lookup per entry, 2.4 µs, twice what reading the meeting's row by rowid does.) (A third dimension for the start was tried: with
# seconds dwarfing degrees the tree split on time, each node spanned the globe, and a
# city's box read most of the tree: 150 ms at a million meetings instead of 0.1 ms.)
# (A Tortoise table rebuild of `meeting` would drop these triggers with the old table:
# tests/meetings/test_spatial_index.py fails if they are missing after the migrations.)
#
# PostgreSQL: a GiST index on point(lon, lat), partial on the same rule, INCLUDE-ing
# the same columns (index-only scans), built in: no extension, so it works on every
# server the kit supports.

_LISTED = "{row}.status = 'published' AND {row}.visibility = 'public'"
_ROW = "SELECT {row}.id, {row}.approx_lat, {row}.approx_lat, {row}.approx_lon, {row}.approx_lon"
# What a search filters and sorts by, kept in the GiST index (index-only scans).
_HELD = "approx_lat, approx_lon, starts_at, public_id, campaign_id"


def _insert(row: str, where: str = "") -> str:
    listed = _LISTED.format(row=row)
    source = _ROW.format(row=row) + (f" FROM meeting AS {row}" if where else "")
    return f"INSERT INTO meeting_rtree {source} WHERE {listed}{where}"


_SQLITE = [
    "CREATE VIRTUAL TABLE meeting_rtree USING rtree(id, south, north, west, east)",
    f"CREATE TRIGGER meeting_rtree_insert AFTER INSERT ON meeting BEGIN "
    f"{_insert('new')}; END",
    "CREATE TRIGGER meeting_rtree_update AFTER UPDATE OF "
    "status, visibility, approx_lat, approx_lon ON meeting BEGIN "
    f"DELETE FROM meeting_rtree WHERE id = old.id; {_insert('new')}; END",
    "CREATE TRIGGER meeting_rtree_delete AFTER DELETE ON meeting BEGIN "
    "DELETE FROM meeting_rtree WHERE id = old.id; END",
    _insert("m", where=" ORDER BY m.id"),
]

_POSTGRES = (
    "CREATE INDEX meeting_public_point ON meeting USING gist (point(approx_lon, approx_lat)) "
    f"INCLUDE (id, {_HELD}) WHERE {_LISTED.format(row='meeting')}"
)


class Migration(migrations.Migration):
    dependencies = [('models', '0011_outbox_message')]

    initial = False

    operations = [RunSQLByDialect(sqlite=_SQLITE, postgres=_POSTGRES)]
