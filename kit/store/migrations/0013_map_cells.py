from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

from kit.store.migrations._operations import RunSQLByDialect

# The map's cell counts (kit.meetings.map_clusters), kept in step by triggers on the
# meeting table, so every write counts: the ORM's, raw SQL's (seat tallies, re-pinning)
# and bulk loads (kit demo, bench/). A published public meeting adds itself to one row
# per stored level under campaign key 0 (every meeting) and under its campaign, in the
# UTC day it starts (listed means "not yet started": the days after today are read from
# here, today's rest from the meeting table). Only PUBLIC points are summed.
# These levels are kit.meetings.map_clusters.STORED_LEVELS: change both together.
_LEVELS = (3, 5, 7, 9, 11)
_COUNTED = "{r}.status = 'published' AND {r}.visibility = 'public'"
_WATCHED = ("status", "visibility", "approx_lat", "approx_lon", "starts_at", "campaign_id")
_UPSERT = (
    "INSERT INTO map_cell (level, campaign_key, y, x, day, count, sum_lat, sum_lon) "
    "SELECT l.level, k.campaign_key, {cell_y}, {cell_x}, {day}, {s}, {s} * {r}.approx_lat, "
    "{s} * {r}.approx_lon FROM {levels}, (SELECT 0 AS campaign_key UNION ALL "
    "SELECT {r}.campaign_id WHERE {r}.campaign_id IS NOT NULL) AS k "
    "WHERE " + _COUNTED + " "
    "ON CONFLICT (level, campaign_key, y, x, day) DO UPDATE SET "
    "count = map_cell.count + excluded.count, "
    "sum_lat = map_cell.sum_lat + excluded.sum_lat, "
    "sum_lon = map_cell.sum_lon + excluded.sum_lon"
)
_BACKFILL = (
    "INSERT INTO map_cell (level, campaign_key, y, x, day, count, sum_lat, sum_lon) "
    "SELECT l.level, r.campaign_key, {cell_y}, {cell_x}, {day}, COUNT(*), SUM(r.approx_lat), "
    "SUM(r.approx_lon) FROM {levels}, ("
    "SELECT 0 AS campaign_key, approx_lat, approx_lon, starts_at FROM meeting AS r "
    "WHERE " + _COUNTED.format(r="r") + " UNION ALL "
    "SELECT campaign_id, approx_lat, approx_lon, starts_at FROM meeting AS r "
    "WHERE campaign_id IS NOT NULL AND " + _COUNTED.format(r="r") + ") AS r "
    "GROUP BY l.level, r.campaign_key, {cell_y}, {cell_x}, {day}"
)


def _size(level: int) -> str:
    return repr(360.0 / 2**level)  # exact: 45 * 2**(3 - level)


# SQLite: CAST truncates, which is floor for the non-negative (lat + 90, lon + 180);
# starts_at is UTC ISO text. PostgreSQL: floor() (its CAST rounds), starts_at a timestamptz.
_SQLITE = {
    "levels": "(" + " UNION ALL ".join(f"SELECT {n} AS level, {_size(n)} AS size" for n in _LEVELS) + ") AS l",
    "cell_y": "CAST(({r}.approx_lat + 90.0) / l.size AS INTEGER)",
    "cell_x": "CAST(({r}.approx_lon + 180.0) / l.size AS INTEGER)",
    "day": "CAST(julianday({r}.starts_at) - 2440587.5 AS INTEGER)",
}
_POSTGRES = {
    "levels": "(VALUES " + ", ".join(f"({n}, {_size(n)}::float8)" for n in _LEVELS) + ") AS l(level, size)",
    "cell_y": "floor(({r}.approx_lat + 90.0) / l.size)::int",
    "cell_x": "floor(({r}.approx_lon + 180.0) / l.size)::int",
    "day": "floor(extract(epoch FROM {r}.starts_at) / 86400)::int",
}


def _upsert(spelling: dict[str, str], r: str, sign: int) -> str:
    parts = {k: v.format(r=r) for k, v in spelling.items()}
    return _UPSERT.format(r=r, s=sign, **parts)


def _backfill(spelling: dict[str, str]) -> str:
    return _BACKFILL.format(**{k: v.format(r="r") for k, v in spelling.items()})


_CHANGED = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in _WATCHED)
_SQLITE_SQL = [
    "CREATE TRIGGER map_cell_insert AFTER INSERT ON meeting BEGIN "
    + _upsert(_SQLITE, "NEW", 1) + "; END",
    "CREATE TRIGGER map_cell_delete AFTER DELETE ON meeting BEGIN "
    + _upsert(_SQLITE, "OLD", -1) + "; END",
    f"CREATE TRIGGER map_cell_update AFTER UPDATE OF {', '.join(_WATCHED)} ON meeting "
    f"WHEN {_CHANGED} BEGIN "
    + _upsert(_SQLITE, "OLD", -1) + "; " + _upsert(_SQLITE, "NEW", 1) + "; END",
    _backfill(_SQLITE),
]
_POSTGRES_SQL = [
    "CREATE FUNCTION map_cell_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "IF TG_OP <> 'INSERT' THEN " + _upsert(_POSTGRES, "OLD", -1) + "; END IF; "
    "IF TG_OP <> 'DELETE' THEN " + _upsert(_POSTGRES, "NEW", 1) + "; END IF; "
    "RETURN NULL; END $$",
    "CREATE TRIGGER map_cell_insert_delete AFTER INSERT OR DELETE ON meeting "
    "FOR EACH ROW EXECUTE FUNCTION map_cell_change()",
    "CREATE TRIGGER map_cell_update AFTER UPDATE ON meeting FOR EACH ROW WHEN ("
    + _CHANGED.replace(" IS NOT ", " IS DISTINCT FROM ")
    + ") EXECUTE FUNCTION map_cell_change()",
    _backfill(_POSTGRES),
]


class Migration(migrations.Migration):
    dependencies = [('models', '0012_spatial_index')]

    initial = False

    operations = [
        ops.CreateModel(
            name='MapCell',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('level', fields.SmallIntField()),
                ('campaign_key', fields.IntField()),
                ('y', fields.IntField()),
                ('x', fields.IntField()),
                ('day', fields.IntField()),
                ('count', fields.IntField(default=0)),
                ('sum_lat', fields.FloatField(default=0.0)),
                ('sum_lon', fields.FloatField(default=0.0)),
            ],
            options={'table': 'map_cell', 'app': 'models', 'unique_together': (('level', 'campaign_key', 'y', 'x', 'day'),), 'pk_attr': 'id', 'table_description': 'How many listed-to-be meetings a map cell holds, by campaign and day of start.'},
            bases=['Model'],
        ),
        RunSQLByDialect(sqlite=_SQLITE_SQL, postgres=_POSTGRES_SQL),
    ]
