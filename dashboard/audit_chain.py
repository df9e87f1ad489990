"""`mycfa-dashboard audit verify`: walk the audit trail's hash chain and say where it breaks.

Each row of `audit.events` carries the SHA-256 of the previous row's hash and its own values
(schema/140). This walk rebuilds that text from the stored values on its own, so a row deleted,
inserted out of turn or altered after the fact (only a superuser could) shows as the first break.
It also checks who owns the trail and that its triggers are on, and compares the head with an
anchor an operator noted earlier (`--expect SEQ:HASH`): a chain rewritten whole from some row on
differs from the anchor there.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import psycopg

AUDIT_OWNER = "mycfa_audit_owner"
FETCH = 5_000
ROWS = (
    "SELECT seq, seq::text, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), kind,"
    " outcome, username, role, client_addr::text, request_id, detail::text, inserted_by, prev_hash, hash"
    " FROM audit.events ORDER BY 1"
)
HEAD = "SELECT seq, hash FROM audit.chain_head"
GUARDS = """
    SELECT (SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'audit'),
           (SELECT relowner::regrole::text FROM pg_class WHERE oid = 'audit.events'::regclass),
           (SELECT string_agg(tgname, ',' ORDER BY tgname) FROM pg_trigger
            WHERE tgrelid = 'audit.events'::regclass AND NOT tgisinternal AND tgenabled = 'D')
"""
GENESIS = bytes(32)


def message(fields: tuple[str | None, ...]) -> bytes:
    """The hashed text of one row: each field as <length>:<text>, '-' for NULL (audit.event_message)."""
    return "".join("-" if value is None else f"{len(value)}:{value}" for value in fields).encode()


@dataclass(frozen=True)
class ChainReport:
    """What the walk found: rows checked, the head, and the first problem (None when intact)."""

    rows: int
    head_seq: int
    head_hash: str
    problem: str | None

    @property
    def intact(self) -> bool:
        return self.problem is None

    def line(self) -> str:
        if self.problem is None:
            return f"audit verify: {self.rows} rows intact; head {self.head_seq}:{self.head_hash}"
        return f"audit verify: BROKEN: {self.problem} ({self.rows} rows read)"


def _guard_problem(conn: psycopg.Connection[Any]) -> str | None:
    schema_owner, table_owner, disabled = conn.execute(GUARDS).fetchone() or (None, None, None)
    if schema_owner != AUDIT_OWNER or table_owner != AUDIT_OWNER:
        return f"the trail belongs to {table_owner} (schema {schema_owner}), not {AUDIT_OWNER}"
    if disabled:
        return f"trigger(s) disabled on audit.events: {disabled}"
    return None


def _row_problem(
    seq: int,
    expected_seq: int,
    previous: bytes,
    prev_hash: bytes,
    stored: bytes,
    fields: tuple[str | None, ...],
) -> str | None:
    if seq > expected_seq:
        return f"rows {expected_seq}..{seq - 1} are missing"
    if seq < expected_seq:
        return f"seq {seq} repeats"
    if prev_hash != previous:
        return f"seq {seq} does not follow seq {seq - 1} (its prev_hash differs)"
    if hashlib.sha256(previous + message(fields)).digest() != stored:
        return f"seq {seq} was altered (its hash does not match its values)"
    return None


def verify(conn: psycopg.Connection[Any], expect: tuple[int, str] | None = None) -> ChainReport:
    """Walk the whole chain (as a member of mycfa_audit_reader).

    Raises:
        psycopg.Error: the database could not be read.
    """
    problem = _guard_problem(conn)
    head_row = conn.execute(HEAD).fetchone()
    head_seq, head_hash = (int(head_row[0]), bytes(head_row[1])) if head_row else (0, GENESIS)
    previous, expected_seq, rows = GENESIS, 1, 0
    with conn.cursor(name="audit_verify") as cur:
        cur.itersize = FETCH
        cur.execute(ROWS)
        for seq, *fields, prev_hash, stored in cur:
            rows += 1
            if problem is None:
                problem = _row_problem(
                    seq, expected_seq, previous, bytes(prev_hash), bytes(stored), tuple(fields)
                )
            if (
                problem is None
                and expect is not None
                and seq == expect[0]
                and bytes(stored).hex() != expect[1]
            ):
                problem = f"seq {seq} differs from the anchor you noted ({expect[1][:16]}...)"
            previous, expected_seq = bytes(stored), seq + 1
    if problem is None and (head_seq != expected_seq - 1 or head_hash != previous):
        problem = f"the chain ends at seq {expected_seq - 1} but its head says {head_seq}: rows were removed"
    if problem is None and expect is not None and expect[0] > head_seq:
        problem = f"the anchor's seq {expect[0]} is past the head ({head_seq}): rows were removed"
    return ChainReport(rows=rows, head_seq=head_seq, head_hash=head_hash.hex(), problem=problem)
