"""What the key's FMP plan allows, as `mycfa-engine probe` found it, and how to read FMP's refusals.

FMP's plans differ in what they serve (docs/fmp.md, "Plans"): the constituent lists need Premium,
the bulk files Ultimate, the free plan takes `limit` up to 5 and 250 requests a day, and the free
and Starter plans serve 5 years of history and (as far as anyone recorded) annual statements only.
A refusal is a 402 whose plain text names what was refused, so the engine reads those words rather
than guessing: `'limit' must be between 0 and 5`, `value set for 'from'`, `value set for 'period'`.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from engine.errors import FMPEntitlementError

FREE_DAILY_LIMIT = 250  # FMP's free ("Basic") plan: requests a day
# A plan's history is counted back from today; the run stays this far inside it, so a request
# planned today is not refused tomorrow for the day that slid out.
HISTORY_MARGIN_DAYS = 7
_LIMIT = re.compile(r"'limit' must be between 0 and (\d+)")


def refused_parameter(error: FMPEntitlementError) -> str | None:
    """The query parameter FMP named in its refusal (`from`, `period`, `symbol`, `limit`), if any."""
    if _LIMIT.search(error.reason):
        return "limit"
    found = re.search(r"value set for '(\w+)'", error.reason)
    return found.group(1) if found else None


def limit_cap(words: str) -> int | None:
    """The largest `limit` the plan accepts, when FMP's refusal says so."""
    found = _LIMIT.search(words)
    return int(found.group(1)) if found else None


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


@dataclass(frozen=True, slots=True)
class Check:
    """One probe request: what it asked, whether the plan allowed it, and FMP's words if not."""

    name: str
    allowed: bool
    detail: str
    status: int
    words: str | None = None


@dataclass(frozen=True, slots=True)
class Entitlements:
    """What a run may ask of FMP with this key. `unknown()` (no probe yet) allows everything."""

    plan: str = "unknown"
    constituents: bool = True
    bulk: bool = True
    history_years: int | None = None  # None: the whole history
    statement_limit: int | None = None  # None: FMP's own maximum
    quarterly: bool = True
    calendar: bool = True
    key_in_query: bool = False
    daily_limit: int | None = None
    checks: tuple[Check, ...] = ()
    probed_at: datetime | None = None
    requests: int = 0

    @classmethod
    def unknown(cls) -> Entitlements:
        return cls()

    def history_floor(self, today: date) -> date | None:
        """The oldest date a run asks for on `today` (None: no floor)."""
        if self.history_years is None:
            return None
        return years_before(today, self.history_years) + timedelta(days=HISTORY_MARGIN_DAYS)

    def words(self, name: str) -> str | None:
        """FMP's refusal text of check `name`, if the probe was refused there."""
        return next((c.words for c in self.checks if c.name == name and not c.allowed), None)

    def withheld(self) -> dict[str, str]:
        """What the plan withholds from a run, each with FMP's reason when it gave one."""
        out: dict[str, str] = {}
        for name, allowed, what in (
            ("constituents", self.constituents, "the constituent list (the shipped list is used)"),
            ("bulk", self.bulk, "the bulk files (per-symbol requests instead)"),
            ("quarterly", self.quarterly, "quarterly statements"),
            ("calendar", self.calendar, "the earnings calendar (every stored series is refetched)"),
        ):
            if not allowed:
                words = self.words(name)
                out[name] = what + (f' (FMP: "{words}")' if words else "")
        if self.history_years is not None:
            out["history"] = f"prices before the plan's {self.history_years} years"
        if self.statement_limit is not None:
            out["limit"] = f"statement history beyond limit={self.statement_limit}"
        return out

    def with_checks(self, checks: list[Check], *, requests: int) -> Entitlements:
        """These entitlements with the probe's checks, the plan's name and the time of the probe."""
        ent = replace(self, checks=tuple(checks), requests=requests, probed_at=datetime.now(UTC))
        plan = ent.infer_plan()
        return replace(ent, plan=plan, daily_limit=FREE_DAILY_LIMIT if plan == "free" else None)

    def infer_plan(self) -> str:
        """FMP's plan name the checks point to (what each plan serves: docs/fmp.md, "Plans")."""
        if self.bulk:
            return "ultimate"
        if self.constituents:
            return "premium"
        # Starter may cap `limit` too (unrecorded); the calendar is what only the free plan refuses
        return "free" if not self.calendar else "starter"

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["probed_at"] = self.probed_at.isoformat() if self.probed_at else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Entitlements:
        checks = tuple(Check(**check) for check in data.get("checks") or ())
        probed = data.get("probed_at")
        fields = {
            k: v
            for k, v in data.items()
            if k in cls.__dataclass_fields__ and k not in ("checks", "probed_at")
        }
        return cls(**fields, checks=checks, probed_at=datetime.fromisoformat(probed) if probed else None)
