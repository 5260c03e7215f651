"""Statements built once and run on the hot read paths with as little per-call work as possible.

SQLAlchemy's per-execution work (cache key, execution context, result wrapping) costs
20-30 µs a statement, several times what SQLite needs to answer a primary-key lookup from
its page cache. On SQLite a prebuilt statement is therefore compiled once, its `IN` lists
expanded once per list length, and run straight through the driver with SQLAlchemy's own
bind and result processors applied; on PostgreSQL, where the network round trip
dominates, it runs through SQLAlchemy as usual.
"""

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import CompoundSelect, Connection, Select
from sqlalchemy.sql.compiler import SQLCompiler

Processor = Callable[[Any], Any] | None
# Where each positional argument comes from: a parameter name, the position within its
# list for an expanded IN, and the bind processor to apply.
# Parameters the statement binds itself (such as SQLite's OFFSET 0) come from `defaults`.
Plan = tuple[str, list[tuple[str, int | None, Processor]], dict[str, Any]]
# Longest IN list run through a plan of its own; pages (at most 101 ids) stay below it.
MAX_EXPANDED = 128


class Prebuilt:
    """One statement, compiled for SQLite on first use."""

    def __init__(
        self, statement: Select[Any] | CompoundSelect, *, max_plans: int = MAX_EXPANDED
    ) -> None:
        """`max_plans`: plans kept, one per combination of list lengths. A statement with
        one list needs one per length; one with several client-sized lists (a listing's
        topics, providers, tags) would need their product, so it keeps fewer: past the
        bound, a new combination runs through SQLAlchemy (whose compiled cache is bounded)
        and is not kept."""
        self.statement = statement
        self.max_plans = max_plans
        self._compiled: SQLCompiler | None = None
        # (column index, result processor) for the columns that have one.
        self._converters: list[tuple[int, Callable[[Any], Any]]] = []
        self._plans: dict[tuple[tuple[str, int], ...], Plan] = {}

    def rows(self, conn: Connection, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """All result rows as plain tuples."""
        sizes = tuple(
            (name, len(value)) for name, value in params.items() if isinstance(value, list | tuple)
        )
        # A plan is kept per combination of list lengths, for at most `max_plans` of them
        # and lists of at most MAX_EXPANDED: no request can make the cache grow without limit.
        plan = self._plans.get(sizes) if conn.dialect.name == "sqlite" else None
        if plan is None:
            if (
                conn.dialect.name != "sqlite"
                or any(size > MAX_EXPANDED for _, size in sizes)
                or len(self._plans) >= self.max_plans
            ):
                return [tuple(row) for row in conn.execute(self.statement, params)]
            plan = self._plan(conn, params, sizes)
        sql, sources, defaults = plan
        if defaults:
            params = {**defaults, **params}
        args = []
        for name, index, bind in sources:
            value = params[name] if index is None else params[name][index]
            args.append(value if bind is None else bind(value))
        fetched = conn.connection.driver_connection.execute(sql, args).fetchall()  # type: ignore[union-attr]
        converters = self._converters
        if not converters:
            return fetched  # type: ignore[no-any-return]
        # Only the few columns with a processor are touched: a generator over every column
        # of every row cost 3 us a row, as much as SQLite's work for it.
        converted = []
        for row in fetched:
            values = list(row)
            for index, convert in converters:
                value = values[index]
                if value is not None:
                    values[index] = convert(value)
            converted.append(tuple(values))
        return converted

    def _plan(
        self, conn: Connection, params: Mapping[str, Any], sizes: tuple[tuple[str, int], ...]
    ) -> Plan:
        compiled = self._compiled
        if compiled is None:
            built = self.statement.compile(dialect=conn.dialect)
            assert isinstance(built, SQLCompiler)
            results = (
                column.type._cached_result_processor(conn.dialect, None)
                for column in built._result_columns
            )
            # Converters first: another thread that finds the statement compiled must
            # find them too, or it would return SQLite's raw dates and booleans.
            self._converters = [(i, f) for i, f in enumerate(results) if f is not None]
            compiled = self._compiled = built
        state = compiled.construct_expanded_state(params)
        # The expanded state holds the processors of expanded lists only.
        processors: dict[str, Any] = {**compiled._bind_processors, **state.processors}
        origin: dict[str, tuple[str, int | None]] = {}
        for name, expanded in state.parameter_expansion.items():
            origin.update((each, (name, index)) for index, each in enumerate(expanded))
        sources: list[tuple[str, int | None, Processor]] = []
        for each in state.positiontup or ():
            name, index = origin.get(each, (each, None))
            sources.append((name, index, processors.get(each)))
        defaults = {name: state.parameters[name] for name, _, _ in sources if name not in params}
        plan = (state.statement, sources, defaults)
        self._plans[sizes] = plan
        return plan


class PrebuiltInsert:
    """An INSERT (upsert, or text) run with many rows: on SQLite compiled once.

    SQLAlchemy builds each row's parameters one at a time (`construct_params`, ~3 µs a
    row), which in bulk ingestion cost as much as SQLite's own work for the rows. On
    SQLite the rows are bound here through the same type processors and handed to the
    driver's `executemany` as tuples; on PostgreSQL they go through SQLAlchemy, whose
    "insertmanyvalues" batches them into few round trips.
    """

    def __init__(self, build: Callable[[str, tuple[str, ...]], Any]) -> None:
        """`build(dialect name, the rows' keys)` returns the statement to run."""
        self.build = build
        # By dialect and the rows' keys: on SQLite the SQL and (parameter, bind processor)
        # in positional order, elsewhere the statement.
        self._built: dict[tuple[str, tuple[str, ...]], Any] = {}

    def run(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        """Execute the statement once for each row (dicts with the same keys)."""
        if not rows:
            return
        key = (conn.dialect.name, tuple(rows[0]))
        built = self._built.get(key)
        if built is None:
            built = self._built[key] = self._build(conn, *key)
        if conn.dialect.name != "sqlite":
            conn.execute(built, rows)
            return
        sql, order = built
        conn.exec_driver_sql(
            sql,
            [
                tuple(row[name] if bind is None else bind(row[name]) for name, bind in order)
                for row in rows
            ],
        )

    def _build(self, conn: Connection, dialect: str, keys: tuple[str, ...]) -> Any:
        statement = self.build(dialect, keys)
        if dialect != "sqlite":
            return statement
        compiled = statement.compile(dialect=conn.dialect, column_keys=list(keys))
        names = list(compiled.positiontup or ())
        # A column default SQLAlchemy would fill in row by row has no value here.
        missing = set(names) - set(keys)
        if missing:
            raise ValueError(f"rows must give every bound column: {sorted(missing)} missing")
        processors = compiled._bind_processors
        return compiled.string, [(name, processors.get(name)) for name in names]
