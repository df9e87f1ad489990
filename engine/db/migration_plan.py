"""Plan a schema file before any of it runs: which statements run in its transaction, which index
builds run CONCURRENTLY outside it, and which statements `migrate` refuses on a large table.

Why: `migrate` runs while the previous release still serves (docs/deploy.md, "Migrations and
blue/green"). A plain CREATE INDEX blocks the engine's writes for the whole build, and a statement
that rewrites a table holds an ACCESS EXCLUSIVE lock, which blocks every dashboard read of it, for
as long as the rewrite takes. Both are harmless on a small table and an outage on a large one, so
the plan depends on the sizes of the tables a file touches (measured just before it runs).

The file is parsed with libpg_query (pglast), PostgreSQL's own grammar: no regular expressions
guessing at statement boundaries or dollar-quoted bodies. The planner is pure; `engine/db/migrate.py`
measures the sizes and runs the steps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pglast import ast, parse_sql
from pglast.enums import AlterTableType, ConstrType
from pglast.parser import ParseError
from pglast.stream import RawStream

from engine.errors import MigrationError

MB = 1024 * 1024
# Column defaults evaluated once per row, so adding the column rewrites the table (PostgreSQL 11+
# stores any other default in the catalog). A default calling a function not named here is taken
# as non-volatile: the linter (squawk's adding-field-with-default) still flags it for a review.
VOLATILE_DEFAULTS = frozenset(
    {"random", "gen_random_uuid", "uuid_generate_v1", "uuid_generate_v4", "clock_timestamp",
     "timeofday", "nextval", "txid_current", "statement_timestamp"}
)  # fmt: skip
SERIAL_TYPES = frozenset({"serial", "serial2", "serial4", "serial8", "smallserial", "bigserial"})
# ALTER TABLE subcommands that copy every row into a new file under ACCESS EXCLUSIVE.
REWRITING_SUBCOMMANDS = {
    AlterTableType.AT_AlterColumnType: "ALTER COLUMN ... TYPE",
    AlterTableType.AT_SetLogged: "SET LOGGED",
    AlterTableType.AT_SetUnLogged: "SET UNLOGGED",
    AlterTableType.AT_SetAccessMethod: "SET ACCESS METHOD",
    AlterTableType.AT_SetTableSpace: "SET TABLESPACE",
}
ADVICE = (
    "write it as a new column or table filled by the engine, switched to in a later release"
    " (CONTRIBUTING.md, Migrations); in a maintenance window, raise MYCFA_MIGRATE_LARGE_TABLE_MB"
    " for that one migrate"
)


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement of a file: its parse tree, where it starts, and the tables it changes."""

    node: ast.Node
    start: int  # offset in the file's text
    end: int
    line: int


@dataclass(frozen=True, slots=True)
class InTransaction:
    """SQL run as written, in one transaction."""

    sql: str


@dataclass(frozen=True, slots=True)
class ConcurrentIndex:
    """An index built with CREATE INDEX CONCURRENTLY, outside any transaction: writes go on meanwhile.

    `sql` is the statement as written; `migrate` builds it per partition when `table` is partitioned
    (PostgreSQL cannot build a partitioned table's index concurrently in one statement).
    """

    name: str
    table: str
    sql: str
    line: int


Step = InTransaction | ConcurrentIndex


def parse_file(text: str) -> list[Statement]:
    """The statements of a schema file, in order.

    Raises:
        MigrationError: the text is not valid SQL (PostgreSQL's grammar, as libpg_query has it).
    """
    try:
        raws = parse_sql(text)
    except ParseError as exc:
        raise MigrationError(f"not valid SQL: {exc}") from None
    statements = []
    for raw in raws:
        start = raw.stmt_location or 0
        end = start + raw.stmt_len if raw.stmt_len else len(text)
        if raw.stmt is not None:
            statements.append(Statement(raw.stmt, start, end, _first_line(text, start)))
    return statements


def _first_line(text: str, start: int) -> int:
    """The line a statement starts on, past the blank lines and comments libpg_query counts into it."""
    at = start
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if text.startswith("--", at):
            newline = text.find("\n", at)
            at = len(text) if newline < 0 else newline
        elif text.startswith("/*", at):
            close = text.find("*/", at)
            at = len(text) if close < 0 else close + 2
        else:
            return text.count("\n", 0, at) + 1


def touched_tables(statements: list[Statement]) -> set[str]:
    """The tables whose size decides how a statement is run (indexed, altered, updated, vacuumed)."""
    return {table for statement in statements if (table := _target(statement.node))}


def plan(text: str, statements: list[Statement], sizes: Mapping[str, int], *, large_bytes: int) -> list[Step]:
    """Split a file into steps: the file as one transaction unless it builds an index concurrently.

    Args:
        text: the file's text.
        statements: `parse_file(text)`.
        sizes: bytes of each table of `touched_tables` that exists now (absent: this file creates it).
        large_bytes: from this size on a table is large.

    Raises:
        MigrationError: a statement would rewrite a large table (or update all its rows) in one
            statement, or an index that must be built concurrently has no name or no IF NOT EXISTS.
    """
    steps: list[Step] = []
    pending: list[Statement] = []  # run in one transaction before the next concurrent build
    for statement in statements:
        table = _target(statement.node)
        large = table is not None and table in sizes and sizes[table] >= large_bytes
        if large:
            _refuse_rewrite(statement, table or "", sizes.get(table or "", 0), large_bytes)
        if not isinstance(statement.node, ast.IndexStmt) or not (large or statement.node.concurrent):
            pending.append(statement)
            continue
        index = statement.node
        if not index.idxname or not index.if_not_exists:
            raise MigrationError(
                f"line {statement.line}: CREATE INDEX on {table} ({_mb(sizes.get(table or '', 0))}) needs a"
                " name and IF NOT EXISTS: migrate builds it CONCURRENTLY outside the file's transaction,"
                " and a rerun after a failure must find the index it built"
            )
        if pending:
            steps.append(InTransaction(text[pending[0].start : pending[-1].end]))
            pending = []
        steps.append(
            ConcurrentIndex(index.idxname, table or "", text[statement.start : statement.end], statement.line)
        )
    if not steps:  # the common case: the file as written, in one transaction
        return [InTransaction(text)] if statements else []
    if pending:
        steps.append(InTransaction(text[pending[0].start : pending[-1].end]))
    return steps


def index_sql(sql: str, *, table: str, name: str, concurrent: bool, only: bool = False) -> str:
    """The CREATE INDEX statement `sql` on another table (a partition) under another name.

    `only`: CREATE INDEX ... ON ONLY table (a partitioned table's own, invalid until every partition's
    index is attached to it).
    """
    node = parse_sql(sql)[0].stmt
    assert isinstance(node, ast.IndexStmt)
    schema, _, relname = table.rpartition(".")
    node.relation = ast.RangeVar(relname=relname, schemaname=schema or None, inh=not only, relpersistence="p")
    node.idxname = name
    node.concurrent = concurrent
    node.if_not_exists = True
    return str(RawStream()(node))


def _target(node: ast.Node) -> str | None:
    relation: ast.RangeVar | None = None
    if isinstance(
        node, ast.IndexStmt | ast.AlterTableStmt | ast.UpdateStmt | ast.DeleteStmt | ast.ClusterStmt
    ):
        relation = node.relation
    elif isinstance(node, ast.VacuumStmt) and node.rels:
        relation = node.rels[0].relation
    if relation is None:
        return None
    return f"{relation.schemaname}.{relation.relname}" if relation.schemaname else relation.relname


def _refuse_rewrite(statement: Statement, table: str, size: int, large_bytes: int) -> None:
    what = _rewrite(statement.node)
    if what:
        raise MigrationError(
            f"line {statement.line}: {what} on {table} ({_mb(size)}, large from {_mb(large_bytes)})"
            f" would rewrite it in one statement while the running release reads it; {ADVICE}"
        )


def _rewrite(node: ast.Node) -> str:
    """What in `node` rewrites its table (or all its rows) in one statement; empty if nothing does."""
    if isinstance(node, ast.UpdateStmt | ast.DeleteStmt):
        return f"{'UPDATE' if isinstance(node, ast.UpdateStmt) else 'DELETE'} in a migration"
    if isinstance(node, ast.ClusterStmt):
        return "CLUSTER"
    if isinstance(node, ast.VacuumStmt):
        full = any(isinstance(o, ast.DefElem) and o.defname == "full" for o in node.options or ())
        return "VACUUM FULL" if full else ""
    if not isinstance(node, ast.AlterTableStmt):
        return ""
    for command in node.cmds or ():
        assert isinstance(command, ast.AlterTableCmd)
        if command.subtype in REWRITING_SUBCOMMANDS:
            return REWRITING_SUBCOMMANDS[command.subtype]
        if command.subtype == AlterTableType.AT_AddColumn and isinstance(command.def_, ast.ColumnDef):
            why = _rewriting_column(command.def_)
            if why:
                return f"ADD COLUMN {command.def_.colname} {why}"
    return ""


def _rewriting_column(column: ast.ColumnDef) -> str:
    names = [
        n.sval for n in (column.typeName.names or () if column.typeName else ()) if isinstance(n, ast.String)
    ]
    if names and names[-1] in SERIAL_TYPES:
        return f"of type {names[-1]}"
    for constraint in column.constraints or ():
        if not isinstance(constraint, ast.Constraint):
            continue
        if constraint.contype in (ConstrType.CONSTR_IDENTITY, ConstrType.CONSTR_GENERATED):
            return "GENERATED (identity or stored)"
        if constraint.contype == ConstrType.CONSTR_DEFAULT and _volatile(constraint.raw_expr):
            return "with a volatile DEFAULT"
    return ""


def _volatile(expr: ast.Node | None) -> bool:
    if isinstance(expr, ast.FuncCall):
        name = (expr.funcname or (None,))[-1]
        if isinstance(name, ast.String) and name.sval in VOLATILE_DEFAULTS:
            return True
        return any(_volatile(arg) for arg in expr.args or ())
    if isinstance(expr, ast.TypeCast):
        return _volatile(expr.arg)
    return False


def _mb(size: int) -> str:
    return f"{size / MB:,.1f} MB"
