from importlib import import_module

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

from kit.store.migrations._operations import RunSQLByDialect

# The map's cell counts by hour and by week of start (kit.meetings.map_clusters), kept in
# step by triggers on the meeting table like map_cell's (migration 0013), which stay: a
# published public meeting adds itself, per stored level and campaign key (0 and its
# campaign's), to the row of the hour it starts (span 1) and to the row of its 168-hour
# week (span 168; weeks counted from 1970-01-01, so they start on a UTC midnight). The
# map reads today's remaining hours, then map_cell's days to the end of the week, then
# whole weeks: a few dozen rows a cell where it summed up to 90 days and counted today's
# meetings live. Only PUBLIC points are summed.
# The levels, the counted rule, the watched columns and the cells are 0013's.
_0013 = import_module("kit.store.migrations.0013_map_cells")
_LEVELS = _0013._LEVELS  # kit.meetings.map_clusters.STORED_LEVELS
_SPANS = (1, 168)  # kit.meetings.map_clusters.HOUR, WEEK
_COUNTED = _0013._COUNTED
_UPSERT = (
    "INSERT INTO map_cell_span (level, campaign_key, span, y, x, hour, count, sum_lat, sum_lon) "
    "SELECT l.level, k.campaign_key, s.span, {cell_y}, {cell_x}, {hour} / s.span * s.span, "
    "{s}, {s} * {r}.approx_lat, {s} * {r}.approx_lon FROM {levels}, {spans}, "
    "(SELECT 0 AS campaign_key UNION ALL "
    "SELECT {r}.campaign_id WHERE {r}.campaign_id IS NOT NULL) AS k "
    "WHERE " + _COUNTED + " "
    "ON CONFLICT (level, campaign_key, span, y, x, hour) DO UPDATE SET "
    "count = map_cell_span.count + excluded.count, "
    "sum_lat = map_cell_span.sum_lat + excluded.sum_lat, "
    "sum_lon = map_cell_span.sum_lon + excluded.sum_lon"
)
_BACKFILL = (
    "INSERT INTO map_cell_span (level, campaign_key, span, y, x, hour, count, sum_lat, sum_lon) "
    "SELECT l.level, r.campaign_key, s.span, {cell_y}, {cell_x}, {hour} / s.span * s.span, "
    "COUNT(*), SUM(r.approx_lat), SUM(r.approx_lon) FROM {levels}, {spans}, ("
    "SELECT 0 AS campaign_key, approx_lat, approx_lon, starts_at FROM meeting AS r "
    "WHERE " + _COUNTED.format(r="r") + " UNION ALL "
    "SELECT campaign_id, approx_lat, approx_lon, starts_at FROM meeting AS r "
    "WHERE campaign_id IS NOT NULL AND " + _COUNTED.format(r="r") + ") AS r "
    "GROUP BY l.level, r.campaign_key, s.span, {cell_y}, {cell_x}, {hour} / s.span * s.span"
)


# The hour: SQLite's whole seconds of the UTC ISO text (strftime('%s'), integer arithmetic
# from there), PostgreSQL's epoch of the timestamptz.
_SQLITE = {
    **_0013._SQLITE,
    "spans": "(" + " UNION ALL ".join(f"SELECT {n} AS span" for n in _SPANS) + ") AS s",
    "hour": "(CAST(strftime('%s', {r}.starts_at) AS INTEGER) / 3600)",
}
_POSTGRES = {
    **_0013._POSTGRES,
    "spans": "(VALUES " + ", ".join(f"({n})" for n in _SPANS) + ") AS s(span)",
    "hour": "floor(extract(epoch FROM {r}.starts_at) / 3600)::int",
}


def _upsert(spelling: dict[str, str], r: str, sign: int) -> str:
    parts = {k: v.format(r=r) for k, v in spelling.items()}
    return _UPSERT.format(r=r, s=sign, **parts)


def _backfill(spelling: dict[str, str]) -> str:
    return _BACKFILL.format(**{k: v.format(r="r") for k, v in spelling.items()})


_CHANGED, _WATCHED = _0013._CHANGED, _0013._WATCHED
_SQLITE_SQL = [
    "CREATE TRIGGER map_cell_span_insert AFTER INSERT ON meeting BEGIN "
    + _upsert(_SQLITE, "NEW", 1) + "; END",
    "CREATE TRIGGER map_cell_span_delete AFTER DELETE ON meeting BEGIN "
    + _upsert(_SQLITE, "OLD", -1) + "; END",
    f"CREATE TRIGGER map_cell_span_update AFTER UPDATE OF {', '.join(_WATCHED)} ON meeting "
    f"WHEN {_CHANGED} BEGIN "
    + _upsert(_SQLITE, "OLD", -1) + "; " + _upsert(_SQLITE, "NEW", 1) + "; END",
    _backfill(_SQLITE),
]
_POSTGRES_SQL = [
    "CREATE FUNCTION map_cell_span_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "IF TG_OP <> 'INSERT' THEN " + _upsert(_POSTGRES, "OLD", -1) + "; END IF; "
    "IF TG_OP <> 'DELETE' THEN " + _upsert(_POSTGRES, "NEW", 1) + "; END IF; "
    "RETURN NULL; END $$",
    "CREATE TRIGGER map_cell_span_insert_delete AFTER INSERT OR DELETE ON meeting "
    "FOR EACH ROW EXECUTE FUNCTION map_cell_span_change()",
    "CREATE TRIGGER map_cell_span_update AFTER UPDATE ON meeting FOR EACH ROW WHEN ("
    + _CHANGED.replace(" IS NOT ", " IS DISTINCT FROM ")
    + ") EXECUTE FUNCTION map_cell_span_change()",
    _backfill(_POSTGRES),
]


class Migration(migrations.Migration):
    dependencies = [('models', '0015_dashboard_commitment_tallies')]

    initial = False

    operations = [
        ops.CreateModel(
            name='MapCellSpan',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('level', fields.SmallIntField()),
                ('campaign_key', fields.IntField()),
                ('span', fields.SmallIntField()),
                ('y', fields.IntField()),
                ('x', fields.IntField()),
                ('hour', fields.IntField()),
                ('count', fields.IntField(default=0)),
                ('sum_lat', fields.FloatField(default=0.0)),
                ('sum_lon', fields.FloatField(default=0.0)),
            ],
            options={'table': 'map_cell_span', 'app': 'models', 'unique_together': (('level', 'campaign_key', 'span', 'y', 'x', 'hour'),), 'pk_attr': 'id', 'table_description': 'How many listed-to-be meetings a map cell holds, by campaign and hour or week of start.'},
            bases=['Model'],
        ),
        RunSQLByDialect(sqlite=_SQLITE_SQL, postgres=_POSTGRES_SQL),
    ]
