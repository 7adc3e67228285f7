"""Operations the kit's migrations share (a leading underscore: Tortoise loads no
migration from this module)."""

from tortoise.migrations import operations as ops


class AlterFieldComment(ops.AlterField):
    """An AlterField that only changes the column's comment (an enum gained a value).

    PostgreSQL gets ``COMMENT ON COLUMN``. SQLite keeps no column comments, and
    Tortoise 1.1.9 would apply this there by copying the whole table for nothing (the
    column's type does not change), so SQLite is skipped. (Such copies are safe since
    kit.store.db runs migrations with foreign keys off: before that, the copy's ``DROP TABLE``
    cascaded to every access token of the table's rows.)
    """

    async def database_forward(self, app_label, old_state, new_state, state_editor=None):
        if state_editor and state_editor.client.capabilities.dialect != "sqlite":
            await super().database_forward(app_label, old_state, new_state, state_editor)

    async def database_backward(self, app_label, old_state, new_state, state_editor=None):
        if state_editor and state_editor.client.capabilities.dialect != "sqlite":
            await super().database_backward(app_label, old_state, new_state, state_editor)


class RunSQLOnPostgres(ops.RunSQL):
    """SQL that only PostgreSQL runs (SQLite gets the same guarantee another way)."""

    async def database_forward(self, app_label, old_state, new_state, state_editor=None):
        if state_editor and state_editor.client.capabilities.dialect == "postgres":
            await super().database_forward(app_label, old_state, new_state, state_editor)

    async def database_backward(self, app_label, old_state, new_state, state_editor=None):
        if state_editor and state_editor.client.capabilities.dialect == "postgres":
            await super().database_backward(app_label, old_state, new_state, state_editor)


class RunSQLByDialect(ops.RunSQL):
    """The same change spelled for each database (JSON functions differ), forward only.

    ``whole_statements``: each string is one statement, run as it is. Tortoise's SQLite
    schema editor splits what it runs on ";", which cuts a trigger's body apart.
    """

    def __init__(
        self,
        *,
        sqlite: str | list[str],
        postgres: str | list[str],
        whole_statements: bool = False,
    ) -> None:
        super().__init__(sqlite)
        self.by_dialect = {"sqlite": sqlite, "postgres": postgres}
        self.whole_statements = whole_statements

    async def database_forward(self, app_label, old_state, new_state, state_editor=None):
        if not state_editor:
            return
        sql = self.by_dialect[state_editor.client.capabilities.dialect]
        if not self.whole_statements or state_editor.collect_sql:
            await self._run_sql(state_editor, sql)
            return
        for statement in [sql] if isinstance(sql, str) else sql:
            await state_editor.client.execute_query(statement)
