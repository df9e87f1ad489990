"""Every view a link: a page declares which controls go into its query string, once.

A page lists its controls as `Param`s in a `UrlState`. On load, `UrlState.read(query)` turns the query
string Dash hands the layout into checked control values (a value that does not fit falls back to the
default and says so in `notes`; unknown parameters are ignored, also with a note). As the controls change,
one clientside callback per page (`assets/urlstate.js`, `mycfa.syncUrl`) writes them back with
`history.replaceState` (no page reload, no server round trip) and hands the page's query to the shell's
`app-context` store, from which the navbar links carry the current ticker and each page's last view.

    URL = urlstate.UrlState("/valuation", "valuation", (
        urlstate.Param("symbol", "valuation-symbol", kind="symbol"),
        urlstate.Param("beta", "valuation-beta", kind="number", default=1.0, low=-1.0, high=5.0),
    ))

    def layout(**query):
        state = URL.read(query)
        ... dcc.Input(id="valuation-beta", value=state.values["beta"]) ...
        return page.frame("Valuation", URL, state, body)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from dash import ClientsideFunction, Input, Output, State, clientside_callback, dcc

from dashboard.components.inputs import MAX_TEXT_CHARS, InvalidInput, valid_number, valid_symbol

Kind = Literal["choice", "choices", "list", "number", "date", "symbol", "symbols", "text"]
CONTEXT_ID = "app-context"  # the shell's session store: the current ticker and each page's last query
# Keys Dash passes to every layout besides the query string (routing inputs of app.py, path variables).
ROUTING_KEYS = frozenset({"context"})
MAX_PARAM_CHARS = MAX_TEXT_CHARS


@dataclass(frozen=True, slots=True)
class Param:
    """One control in the query string.

    Args:
        name: the query-string key (short, stable: links in e-mails outlive releases).
        component: the control's id; `prop` the property holding its value (`date` for date pickers).
        kind: how the text is read back: one of `choices` (`choice`), several of them comma-joined
            (`choices`), a number in [low, high], a YYYY-MM-DD date, a ticker (`symbol`), tickers, or
            free items (`list`, which the page checks), or bounded free text.
        default: the control's value when the link does not set it; a value equal to it is left out of
            the link. A `symbol` has no fixed default (the page picks one) and is always written.
    """

    name: str
    component: str
    kind: Kind = "choice"
    default: Any = None
    prop: str = "value"
    choices: Sequence[str] = ()
    low: float = -math.inf
    high: float = math.inf
    label: str = ""

    @property
    def always(self) -> bool:
        return self.kind in ("symbol", "symbols")


@dataclass(slots=True)
class Read:
    """What a link asked for: each control's value and a note per thing that could not be honoured."""

    values: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    context: Mapping[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Any:
        return self.values[name]


def encode(param: Param, value: Any) -> str | None:
    """The query-string text of a control's value (None: left out); `assets/urlstate.js` does the same."""
    if param.kind in ("choices", "list", "symbols"):
        return ",".join(str(v) for v in value or [])
    if value is None or value == "":
        return None
    if param.kind == "date":
        return str(value)[:10]
    if param.kind == "number" and isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _label(param: Param) -> str:
    return param.label or param.name


def _decode(param: Param, text: str, notes: list[str]) -> Any:
    """The control value for `text`, or the default with a note when it does not fit."""
    try:
        return _parse(param, text, notes)
    except InvalidInput as exc:
        shown = f"showing {param.default}" if param.default not in (None, "") else "ignored"
        notes.append(f"{_label(param)}: {exc}; {shown}.")
        return param.default


def _parse(param: Param, text: str, notes: list[str]) -> Any:
    if len(text) > MAX_PARAM_CHARS:
        raise InvalidInput("too long")
    return _PARSERS.get(param.kind, _text)(param, text, notes)


def _text(param: Param, text: str, notes: list[str]) -> Any:
    return text


def _choice(param: Param, text: str, notes: list[str]) -> Any:
    if text not in param.choices:
        raise InvalidInput(f"{text!r} is not one of {', '.join(param.choices)}")
    return text


def _choices(param: Param, text: str, notes: list[str]) -> Any:
    items = [t for t in text.split(",") if t]
    unknown = [t for t in items if t not in param.choices]
    if unknown:
        notes.append(f"{_label(param)}: ignored {', '.join(repr(u) for u in unknown[:5])}.")
    return [t for t in dict.fromkeys(items) if t in param.choices]


def _items(param: Param, text: str, notes: list[str]) -> Any:
    """Items the page checks itself (choices known only at run time, such as sectors)."""
    return [t for t in dict.fromkeys(t.strip() for t in text.split(",")) if t]


def _number(param: Param, text: str, notes: list[str]) -> Any:
    number = valid_number(text, low=param.low, high=param.high, name="the value")
    return int(number) if isinstance(param.default, int) and number.is_integer() else number


def _date(param: Param, text: str, notes: list[str]) -> Any:
    from dashboard.components.company_data import as_of_date  # the pages' one date rule

    return as_of_date(text)


def _symbol(param: Param, text: str, notes: list[str]) -> Any:
    return valid_symbol(text)


def _symbols(param: Param, text: str, notes: list[str]) -> Any:
    kept = []
    for item in (t.strip() for t in text.split(",") if t.strip()):
        try:
            kept.append(valid_symbol(item))
        except InvalidInput as exc:
            notes.append(f"{_label(param)}: {exc}.")
    return list(dict.fromkeys(kept))


_PARSERS = {
    "choice": _choice,
    "choices": _choices,
    "list": _items,
    "number": _number,
    "date": _date,
    "symbol": _symbol,
    "symbols": _symbols,
}


@dataclass(frozen=True, slots=True)
class UrlState:
    """A page's controls in its query string; `register()` once at import, `read()` in the layout."""

    path: str
    page: str
    params: tuple[Param, ...]

    @property
    def store_id(self) -> str:
        return f"{self.page}-url"

    def read(self, query: Mapping[str, Any]) -> Read:
        """The controls' values for a layout's keyword arguments (the query string plus routing inputs)."""
        notes: list[str] = []
        known = {p.name for p in self.params}
        unknown = sorted(k for k in query if k not in known and k not in ROUTING_KEYS)
        if unknown:
            shown = ", ".join(repr(k[:30]) for k in unknown[:5])
            notes.append(
                f"Ignored link parameter{'s' if len(unknown) > 1 else ''} this page does not use: {shown}."
            )
        values: dict[str, Any] = {}
        for param in self.params:
            raw = query.get(param.name)
            if isinstance(raw, list):  # the key given twice: the last one counts, as in a form
                raw = raw[-1] if raw else None
            values[param.name] = param.default if raw is None else _decode(param, str(raw), notes)
        context = query.get("context")
        return Read(values, notes, context if isinstance(context, Mapping) else {})

    def spec(self) -> dict[str, Any]:
        """What `mycfa.syncUrl` needs: the path, each parameter's name, kind and default text."""
        return {
            "path": self.path,
            "page": self.page,
            "params": [
                {"name": p.name, "kind": p.kind, "default": encode(p, p.default), "always": p.always}
                for p in self.params
            ],
        }

    def store(self) -> dcc.Store:
        """The page's spec in its layout (the clientside callback's State)."""
        return dcc.Store(id=self.store_id, data=self.spec())

    def register(self) -> None:
        """The page's one clientside callback: controls → query string and the shell's context."""
        clientside_callback(
            ClientsideFunction(namespace="mycfa", function_name="syncUrl"),
            Output(CONTEXT_ID, "data", allow_duplicate=True),
            *[Input(p.component, p.prop) for p in self.params],
            State(self.store_id, "data"),
            State(CONTEXT_ID, "data"),
            prevent_initial_call="initial_duplicate",
        )


def page_state(path: str, page: str, *params: Param, register: bool = True) -> UrlState:
    """A page's `UrlState`, its clientside callback registered (call once, at the page module's import)."""
    state = UrlState(path, page, tuple(params))
    if register:
        state.register()
    return state
