"""The app serves every page module: each is found, registered with Dash, and rendered by its router."""

from __future__ import annotations

import pkgutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dash
import pytest
from flask.testing import FlaskClient

import dashboard.pages
from dashboard.app import page_modules as app_pages


def page_modules() -> set[str]:
    return {module.name for module in pkgutil.iter_modules(dashboard.pages.__path__)}


def render(client: FlaskClient, path: str) -> Any:
    """The page content Dash's pages router returns for `path`, through the real callback endpoint."""
    deps = client.get("/_dash-dependencies").get_json()
    router = next(
        d for d in deps if d["output"].startswith("..") and "_pages_content.children" in d["output"]
    )
    values = {("_pages_location", "pathname"): path, ("_pages_location", "search"): ""}

    def fill(items: list[dict[str, str]]) -> list[dict[str, Any]]:
        return [{**item, "value": values.get((item["id"], item["property"]))} for item in items]

    outputs = [
        {"id": ident, "property": prop}
        for ident, _, prop in (part.rpartition(".") for part in router["output"][2:-2].split("..."))
    ]
    response = client.post(
        "/_dash-update-component",
        json={
            "output": router["output"],
            "outputs": outputs,
            "inputs": fill(router["inputs"]),
            "state": fill(router.get("state", [])),
            "changedPropIds": ["_pages_location.pathname"],
        },
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_json()["response"]["_pages_content"]["children"]


def test_app_finds_a_new_page_file_without_a_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new file in dashboard/pages is a page the app imports: no list in app.py to extend."""
    assert set(app_pages()) == page_modules()
    (tmp_path / "toy.py").write_text('"""A toy page."""\n')
    monkeypatch.setattr(dashboard.pages, "__path__", [*dashboard.pages.__path__, str(tmp_path)])
    assert "toy" in app_pages()


def test_every_page_is_registered(dash_app: Any) -> None:
    """Each page module registered itself with Dash, with a layout and a distinct path."""
    registered = {entry["module"].rsplit(".", 1)[-1]: entry for entry in dash.page_registry.values()}
    assert set(registered) >= page_modules()
    paths = [registered[name]["relative_path"] for name in page_modules()]
    assert len(set(paths)) == len(paths)
    assert all(callable(registered[name]["layout"]) for name in page_modules())


@pytest.mark.parametrize("name", sorted(page_modules()))
def test_every_page_is_served(dash_app: Any, logged_in: Callable[[str], FlaskClient], name: str) -> None:
    """An admin gets each page's own layout (its first control's id is prefixed by the page name)."""
    entry = next(e for e in dash.page_registry.values() if e["module"] == f"dashboard.pages.{name}")
    client = logged_in("ada")
    assert client.get(entry["relative_path"]).status_code == 200
    content = render(client, entry["relative_path"])
    assert f'"{name}-' in str(content).replace("'", '"'), str(content)[:300]


def test_dash_is_set_up_before_the_first_request(dash_db: Any, tmp_path: Any) -> None:
    """A fresh app already holds every page's callbacks and the pages router: concurrent first requests
    on a new gunicorn worker cannot find Dash half set up (a 500, "Callback function not found")."""
    from dashboard.app import create_app
    from tests.dashboard.conftest import make_settings

    app = create_app(make_settings(dash_db))
    try:
        outputs = " ".join(app.callback_map)
        for output in ("company-price-graph.figure", "portfolio-stats", "_pages_content.children"):
            assert output in outputs
    finally:
        app.server.extensions["mycfa"].router.dispose()
