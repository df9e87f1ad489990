"""URL state: a link's query string read back into control values, defaults left out of links."""

from __future__ import annotations

from dashboard.components import urlstate
from dashboard.components.urlstate import Param, UrlState

STATE = UrlState(
    "/x",
    "x",
    (
        Param("range", "x-range", default="5Y", choices=("1Y", "5Y", "MAX")),
        Param("osc", "x-osc", kind="choices", default=[], choices=("rsi", "macd")),
        Param("beta", "x-beta", kind="number", default=1.0, low=-1.0, high=5.0),
        Param("years", "x-years", kind="number", default=5, low=1, high=15),
        Param("asof", "x-asof", kind="date", prop="date"),
        Param("holdings", "x-holdings", kind="text", default="A:1"),
    ),
)


def test_read_keeps_what_fits_and_notes_the_rest() -> None:
    """Valid values are taken; a bad one falls back to its default with a note; unknown keys are noted."""
    read = STATE.read(
        {"range": "MAX", "osc": "rsi,zzz,rsi", "beta": "9", "years": "7", "asof": "2020-02-30", "foo": "1"}
    )
    assert read["range"] == "MAX"
    assert read["osc"] == ["rsi"]
    assert read["beta"] == 1.0  # out of range: the default
    assert read["years"] == 7
    assert isinstance(read["years"], int)
    assert read["asof"] is None
    text = " ".join(read.notes)
    for said in ("'foo'", "'zzz'", "beta", "asof"):
        assert said in text


def test_read_without_query_gives_defaults_and_no_note() -> None:
    """An empty query (a plain link) opens every control on its default, silently."""
    read = STATE.read({"context": {"symbol": "MSFT"}})
    assert read.values == {"range": "5Y", "osc": [], "beta": 1.0, "years": 5, "asof": None, "holdings": "A:1"}
    assert read.notes == []
    assert read.context == {"symbol": "MSFT"}


def test_read_takes_the_last_of_a_repeated_key() -> None:
    """`?range=1Y&range=MAX` (Dash hands a list) reads as the last value, as a form would."""
    assert STATE.read({"range": ["1Y", "MAX"]})["range"] == "MAX"


def test_encode_round_trips_and_defaults_are_left_out() -> None:
    """The spec's default texts equal what a default value encodes to, so links omit them."""
    spec = {p["name"]: p for p in STATE.spec()["params"]}
    assert spec["range"]["default"] == "5Y"
    assert spec["osc"]["default"] == ""
    assert spec["beta"]["default"] == "1"  # 1.0 is written as the browser writes the number 1
    by_name = {p.name: p for p in STATE.params}
    assert urlstate.encode(by_name["osc"], ["rsi", "macd"]) == "rsi,macd"
    assert STATE.read({"osc": urlstate.encode(by_name["osc"], ["rsi", "macd"])})["osc"] == ["rsi", "macd"]
    assert urlstate.encode(by_name["asof"], "2024-03-31T00:00:00") == "2024-03-31"


def test_every_page_declares_its_controls_once(dash_app: object) -> None:
    """Each page's URL state names distinct parameters, on components whose ids carry the page's name."""
    from dashboard.pages import company, compare, forecast, portfolio, screener, valuation

    for page in (company, valuation, forecast, compare, portfolio, screener):
        state: UrlState = page.URL
        names = [p.name for p in state.params]
        assert len(names) == len(set(names)), state.page
        assert all(p.component.startswith(f"{state.page}-") for p in state.params), state.page
