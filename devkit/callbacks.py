"""Build `/_dash-update-component` bodies from the app's own callback map (`/_dash-dependencies`).

Used by the page tests, the load test and the drills, so all replay what the browser would send.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# The Valuation page's default assumptions as a browser sends them (dashboard/pages/valuation.py
# ASSUMPTIONS; beta, cost of debt and tax blank: the page takes the company's own figures).
VALUATION_DEFAULTS: dict[str, float | int | None] = {
    "growth": 6.0, "years": 5, "terminal": 2.5, "rf": 4.0, "beta": None, "erp": 5.5, "kd": None, "tax": None,
    "fade": 0, "exit": None,
}  # fmt: skip
# The same with the market defaults typed into beta, cost of debt and tax, so that the answer does not
# depend on the company's profile and statements: what the load mix and the response tests send.
VALUATION_TYPED: dict[str, float | int | None] = {**VALUATION_DEFAULTS, "beta": 1.0, "kd": 5.0, "tax": 21.0}


def outputs_of(dependency: Mapping[str, Any]) -> list[dict[str, str]]:
    text = dependency["output"]
    parts = text[2:-2].split("...") if text.startswith("..") else [text]
    out = []
    for part in parts:
        ident, _, prop = part.rpartition(".")
        out.append({"id": ident, "property": prop})
    return out


def find(dependencies: Sequence[Mapping[str, Any]], output_id: str) -> Mapping[str, Any]:
    """The callback that writes `output_id` (any of its properties)."""
    for dependency in dependencies:
        if any(o["id"] == output_id for o in outputs_of(dependency)):
            return dependency
    raise KeyError(output_id)


def body(dependency: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """The request body for one callback; `values` maps component id → value of its input/state."""
    outputs = outputs_of(dependency)

    def fill(items: Sequence[Mapping[str, str]]) -> list[dict[str, Any]]:
        return [{"id": i["id"], "property": i["property"], "value": values.get(i["id"])} for i in items]

    return {
        "output": dependency["output"],
        "outputs": outputs if len(outputs) > 1 or dependency["output"].startswith("..") else outputs[0],
        "inputs": fill(dependency["inputs"]),
        "state": fill(dependency.get("state", [])),
        "changedPropIds": [f"{i['id']}.{i['property']}" for i in dependency["inputs"][:1]],
    }


def page_body(dependencies: Sequence[Mapping[str, Any]], path: str) -> dict[str, Any]:
    """The body Dash's pages router posts when the browser goes to `path` (builds that page's layout)."""
    request = body(find(dependencies, "_pages_content"), {})
    for item in request["inputs"]:
        item["value"] = path if item["property"] == "pathname" else ""
    return request
