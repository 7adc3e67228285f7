"""Raw SQL on SQLite and PostgreSQL: placeholders, one way to run a read, the values back.

Most of the kit goes through the ORM. Raw SQL is kept for two kinds of work: hot paths
(nearby search and the map read many meetings per request, and the ORM's query building
and model objects cost more than the index does) and figures the database should
compute itself (a campaign's dashboard aggregates tens of thousands of meetings into a
few grouped rows; its CSV exports page through tables by key).

Placeholders: build the values with ``SqlParams`` while writing the SQL. Each ``add``
appends a value and returns its numbered placeholder, ``?3`` for SQLite and ``$3`` for
asyncpg, so a value can appear several times and a ``?`` inside a string literal is
never mistaken for one. ``time`` writes a datetime the way each database compares it;
``real`` says "a float" where PostgreSQL can't infer a parameter's type.

    p = default_params()
    rows = await read_rows(f"SELECT ... WHERE campaign_id = {p.add(campaign_id)}", p)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from functools import cache
from typing import Any, Generic, TypeVar

from tortoise import Tortoise, fields
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model
from tortoise.transactions import in_transaction


class SqlParams:
    """The values of one raw query and the driver's placeholder for each.

    Placeholders are numbered (``?3`` for SQLite, ``$3`` for asyncpg) so one value
    can appear several times in the SQL.
    """

    def __init__(self, dialect: str) -> None:
        self.postgres = dialect == "postgres"
        self.values: list[Any] = []

    def add(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}" if self.postgres else f"?{len(self.values)}"

    def real(self, value: float) -> str:
        # PostgreSQL can't infer a parameter's type inside arithmetic: say it.
        placeholder = self.add(float(value))
        return f"{placeholder}::float8" if self.postgres else placeholder

    def time(self, value: datetime) -> str:
        utc = value.astimezone(UTC)
        # Tortoise stores datetimes in SQLite as UTC ISO text ("2026-12-01 18:30:00+00:00");
        # with one offset everywhere, text order is time order.
        return self.add(utc if self.postgres else utc.isoformat(" "))

    def filter_only(self, column: str) -> str:
        """A column SQLite must filter on but never pick an index for.

        Without statistics (no ANALYZE) SQLite picks the (status, starts_at) index,
        which matches most of the table: a scan of every upcoming meeting (seen at
        1M rows). A unary ``+``, its documented way to say "not this index", leaves
        it the (approx_lat, approx_lon) index. PostgreSQL plans from statistics.
        """
        return column if self.postgres else f"+{column}"


def default_params() -> SqlParams:
    """Placeholders for a query on the default connection, the one ``read_rows`` uses."""
    return SqlParams(Tortoise.get_connection("default").capabilities.dialect)


async def query_dicts(
    conn: BaseDBAsyncClient, sql: str, values: list[Any] | None = None
) -> list[dict[str, Any]]:
    """``conn.execute_query_dict``, minus SQLite's slow part.

    Tortoise turns each ``sqlite3.Row`` into a dict with ``dict(row)``, which looks up
    every column by name through a linear search of the row's columns: for 20
    meetings of 48 columns that is 0.23 ms, more than the spatial index takes to
    find them. Zipping the column names (read once) with each row's values gives the
    same dicts in a sixth of the time. asyncpg's records convert fast already.
    """
    if conn.capabilities.dialect != "sqlite":
        return await conn.execute_query_dict(sql, values)
    _, rows = await conn.execute_query(sql, values)
    if not rows:
        return []
    names = rows[0].keys()
    return [dict(zip(names, row, strict=True)) for row in rows]


async def read_rows(sql: str, params: SqlParams) -> list[dict[str, Any]]:
    """The rows of one read on the default connection (the dashboard's figures, the
    campaign exports' batches)."""
    if not params.postgres:
        return await query_dicts(Tortoise.get_connection("default"), sql, params.values)
    # PostgreSQL's JIT compiler spends 0.1 to 0.4 s compiling the dashboard's aggregates,
    # more than running them takes: switch it off for this statement only (the exports'
    # batches, joins over a whole campaign, get the same setting).
    async with in_transaction() as conn:
        await conn.execute_script("SET LOCAL jit = off")
        return await query_dicts(conn, sql, params.values)


def as_datetime(value: Any) -> datetime | None:
    """A datetime column as read raw: asyncpg gives a datetime, SQLite Tortoise's ISO text."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def as_date(value: Any) -> date:
    """A date as read raw: asyncpg gives a date, SQLite text ("2026-11-30")."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


# --- model objects from raw rows, fast ------------------------------------------------

M = TypeVar("M", bound=Model)
Convert = Callable[[Any], Any] | None


def partial_model(model: type[M], row: Mapping[str, Any], columns: tuple[str, ...]) -> M:
    """A read-only model object holding ``columns`` of a raw row, what
    ``model._init_from_db(**row)`` gives for those columns (a test holds them equal).

    Tortoise's own path for a partial row builds its sets of field kinds and converts
    each field through its generic converter, every row: 60 µs for a meeting, a third
    of a nearby search. Here the converters are chosen once per model and columns.
    """
    item = model.__new__(model)
    # One dict update instead of a __setattr__ call per column (a third less time).
    values = item.__dict__
    values.update(_PARTIAL_STATE)
    values["_await_when_save"] = {}
    for column, name, convert in _converters(model, columns):
        value = row[column]
        values[name] = value if convert is None or value is None else convert(value)
    return item


_PARTIAL_STATE = {"_partial": True, "_saved_in_db": True, "_custom_generated_pk": False}


@cache
def _converters(model: type[Model], columns: tuple[str, ...]) -> list[tuple[str, str, Convert]]:
    meta = model._meta
    native = {key for key, _, _ in meta.db_native_fields}
    found: list[tuple[str, str, Convert]] = []
    for column in columns:
        name = meta.fields_db_projection_reverse.get(column, column)
        field = meta.fields_map[name]
        convert: Convert
        if column in native:
            convert = None
        elif isinstance(field, fields.DatetimeField):
            convert = as_datetime
        elif isinstance(field, fields.data.CharEnumFieldInstance):
            convert = field.enum_type
        else:
            convert = field.to_python_value
        found.append((column, name, convert))
    return found


@cache
def select_columns(model: type[Model], alias: str) -> str:
    """Every column of ``model`` for a raw SELECT, each named ``"<alias>.<column>"``, to
    read back with ``model_from_row``: a join's models without the ORM's query building."""
    return ", ".join(f'{alias}."{c}" AS "{alias}.{c}"' for c in model._meta.db_fields)


def model_from_row(model: type[M], row: Mapping[str, Any], alias: str) -> M | None:
    """The whole model object ``select_columns(model, alias)`` read, as the ORM builds
    it (``_init_from_db``); None when a LEFT JOIN found no row."""
    if row[f"{alias}.id"] is None:
        return None
    return model._init_from_db(**{c: row[f"{alias}.{c}"] for c in model._meta.db_fields})


# --- a QuerySet's SQL built once ------------------------------------------------------


class Prepared(Generic[M]):
    """A read of a fixed shape whose SQL is built once per SQL dialect, then run by
    Tortoise's own executor, which builds the model objects (and their select_related
    ones) exactly as awaiting the QuerySet would.

    Tortoise rebuilds a query's SQL through pypika on every await: 0.7 ms for a meeting
    with its campaign and host (77 columns), seven times what SQLite takes to run it,
    and most of a meeting page's time. ``build`` makes the QuerySet from its arguments;
    it is called once with placeholder strings (so it may only compare them with text
    columns), whose positions among the query's parameters are then filled with each
    call's values. ``tests/store/test_prepared.py`` holds the
    results equal to the QuerySet's.
    """

    def __init__(self, model: type[M], build: Callable[..., Any]) -> None:
        self.model = model
        self.build = build
        self._shapes: dict[str, tuple[str, list[Any], list[int | None], Any]] = {}

    def _shape(
        self, db: BaseDBAsyncClient, count: int
    ) -> tuple[str, list[Any], list[int | None], Any]:
        dialect = db.capabilities.dialect
        shape = self._shapes.get(dialect)
        if shape is None:
            markers = [f"\x00kit-prepared-{i}\x00" for i in range(count)]
            query = self.build(*markers)
            query._db = db
            query._make_query()
            sql, params = query.query.get_parameterized_sql()
            slots = [markers.index(v) if v in markers else None for v in params]
            assert sorted(s for s in slots if s is not None) == list(range(count)), sql
            shape = self._shapes[dialect] = (sql, list(params), slots, query._select_related_idx)
        return shape

    async def all(self, *values: Any) -> list[M]:
        db = self.model._meta.db
        sql, params, slots, related = self._shape(db, len(values))
        bound = [p if s is None else values[s] for p, s in zip(params, slots, strict=True)]
        executor = db.executor_class(
            model=self.model, db=db, prefetch_map={}, prefetch_queries={},
            select_related_idx=related,
        )  # fmt: skip
        return await executor.execute_select(sql, bound)

    async def first(self, *values: Any) -> M | None:
        """The one row's model, or None: build a query of at most one row."""
        found = await self.all(*values)
        return found[0] if found else None
