"""The universe of a run: FMP's `sp500-constituent` (or the shipped list when the plan refuses it) and
the index's changes, whose former members join the run.

FMP serves the constituent lists and their history from the Premium plan up; Free and Starter keys
get a 402 ("Restricted Endpoint"). A run on those plans takes the list shipped with the engine
(engine/data/sp500_constituents.csv, engine/db/gics.py) restricted by `--symbols` / MYCFA_SYMBOLS,
asks no history (so it has no former members), and says so in its log and in `status`, with
FMP's words.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from engine.db.gics import SHIPPED_AS_OF, shipped_constituents
from engine.db.membership import former_members, parse_changes
from engine.errors import FMPAuthError, FMPEntitlementError, FMPError
from engine.fmp import FMPClient
from engine.fmp.endpoints import CONSTITUENTS, SP500_CHANGES
from engine.fmp.entitlements import Entitlements
from engine.runs.plan import restrict_universe

log = logging.getLogger("engine.run")

FMP_LIST = "fmp"
SHIPPED = "shipped"


@dataclass(frozen=True, slots=True)
class Universe:
    """Who a run covers: the constituent list (FMP's or the shipped one) and the index's changes as
    FMP sent them, the run's symbols (constituents, then former members; restricted to `wanted` when
    given), the day each former member among them left, and where the list came from."""

    constituents: list[dict[str, Any]]
    symbols: tuple[str, ...]
    source: str = FMP_LIST  # FMP_LIST | SHIPPED
    refused: str | None = None  # FMP's words when it refused the list
    changes: list[dict[str, Any]] = field(default_factory=list)
    former: dict[str, date] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """Whether the rows are today's whole list (members missing from it left the index)."""
        return self.source == FMP_LIST

    def note(self) -> str:
        if self.source == FMP_LIST:
            return "FMP's sp500-constituent"
        why = f' (FMP: "{self.refused}")' if self.refused else " (the plan has no constituent list)"
        return f"the shipped S&P 500 list of {SHIPPED_AS_OF}{why}, without former members"


async def fetch_changes(fmp: FMPClient) -> list[dict[str, Any]]:
    """The index's changes; [] when FMP will not give them (a plan without the endpoint, retries spent):
    the run goes on with today's members alone and says so."""
    try:
        return await fmp.fetch(SP500_CHANGES)
    except FMPAuthError:
        raise
    except FMPError as exc:
        log.warning("index changes not fetched (%s): no former members this run", exc)
        return []


async def fetch_universe(
    fmp: FMPClient, wanted: Sequence[str], ent: Entitlements, since: date | None = None
) -> Universe:
    """FMP's list and the index's changes when the plan serves them (two requests), else the shipped
    list and no changes; former members are those that left on or after `since` (None: none).

    Raises:
        UsageError: a wanted symbol is not on the list (nor a former member).
        FMPError: the list could not be fetched for another reason than the plan.
    """
    refused = ent.words("constituents")
    if ent.constituents:
        try:
            rows = await fmp.fetch(CONSTITUENTS)
        except FMPEntitlementError as exc:  # the plan changed since the probe
            refused = exc.reason
        else:
            changes = await fetch_changes(fmp)
            current = [str(r["symbol"]).upper() for r in rows]
            left = former_members(parse_changes(changes)[0], current, since) if since is not None else {}
            symbols = restrict_universe(
                [*current, *sorted(left, key=lambda s: (left[s], s), reverse=True)], wanted
            )
            chosen = set(symbols)
            former = {s: day for s, day in left.items() if s in chosen}
            return Universe(rows, symbols, FMP_LIST, changes=changes, former=former)
    rows = shipped_constituents()
    universe = Universe(rows, restrict_universe((str(r["symbol"]) for r in rows), wanted), SHIPPED, refused)
    log.warning("universe: %s", universe.note(), extra={"event": "universe", "source": SHIPPED})
    return universe
