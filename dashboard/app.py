"""The Dash app: builds the server, login, headers and the navbar from `dash.page_registry`.

The WSGI app is `dashboard.app:server`, built on first access from the `MYCFA_DASH_*` settings.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import dash
import dash_bootstrap_components as dbc
import flask
from dash import ClientsideFunction, Input, Output, State, _callback, clientside_callback, dcc, html

import dashboard.pages
from dashboard import access_audit, auth, responses
from dashboard.components import export, serving_state
from dashboard.components.page import UNREACHABLE
from dashboard.components.picker import picker
from dashboard.components.urlstate import CONTEXT_ID
from dashboard.config import DashboardSettings, load_dashboard_settings
from dashboard.logs import configure_logging, install_request_hooks
from dashboard.security import configure_cookies, content_security_policy, install_headers
from dashboard.services import build_services, services

# Navbar links that carry a page's last view (its query string) and the current ticker (`mycfa.navLinks`).
CARRIED = {
    "company": True,
    "valuation": True,
    "forecast": True,
    "compare": False,
    "portfolio": False,
    "screener": False,
}
NAV_COLLAPSE = "lg"  # Bootstrap's breakpoint (992 px): below it the links fold behind a toggler
NAV_STAMP = "xl"  # from 1200 px the data's date shows in the bar too (below, in the account menu only)
# Dash's page template with the document's language (screen readers pick their voice by it).
INDEX_STRING = """<!DOCTYPE html>
<html lang="en">
    <head>
        {%metas%}
        <title>{%title%}</title>
        {%favicon%}
        {%css%}
    </head>
    <body>
        {%app_entry%}
        <div>
            {%config%}
            {%scripts%}
            {%renderer%}
        </div>
    </body>
</html>"""
MAX_REQUEST_BYTES = 256 * 1024  # request-size cap at the server (Flask answers 413 beyond it)
_callback_snapshot: tuple[dict[str, Any], list[Any], list[str]] | None = None


def page_modules() -> list[str]:
    """Every module of `dashboard.pages`: a new page is a new file there, nothing else to list.

    Dash's own folder scan (`pages_folder`) would import the files under another module name, beside
    the `dashboard.pages.*` modules the tests and components import, so the package is walked here;
    the navbar and the router follow `dash.page_registry`, ordered by each page's `order=`.
    """
    return sorted(module.name for module in pkgutil.iter_modules(dashboard.pages.__path__))


def _import_pages() -> None:
    """Import each page once; they register themselves and their callbacks.

    `dash.callback` puts callbacks in module-level lists that the first app consumes. A process
    that builds several apps (tests) hands every new app the same set again from a snapshot.
    """
    global _callback_snapshot
    if _callback_snapshot is None:
        _register_shell_callbacks()
        for name in page_modules():
            module = importlib.import_module(f"dashboard.pages.{name}")
            entry = dash.page_registry[module.__name__]
            if not entry.get("supplied_layout"):  # what Dash does for pages it finds in a folder
                entry["layout"] = access_audit.page_view(name, module.layout)
        _callback_snapshot = (
            dict(_callback.GLOBAL_CALLBACK_MAP),
            list(_callback.GLOBAL_CALLBACK_LIST),
            list(_callback.GLOBAL_INLINE_SCRIPTS),
        )
    elif not _callback.GLOBAL_CALLBACK_MAP:
        _callback.GLOBAL_CALLBACK_MAP.update(_callback_snapshot[0])
        _callback.GLOBAL_CALLBACK_LIST.extend(_callback_snapshot[1])
        _callback.GLOBAL_INLINE_SCRIPTS.extend(_callback_snapshot[2])


def _session_form(action: str, label: str, ident: str) -> html.Form:
    """A POST form with the session's CSRF token (logging out is never a GET), as an account menu item."""
    return html.Form(
        [
            dcc.Input(type="hidden", name="csrf_token", value=auth.csrf_token()),
            html.Button(label, type="submit", id=ident, className="dropdown-item"),
        ],
        method="POST",
        action=action,
    )


def _nav_pages(user: auth.User | None) -> list[dict[str, Any]]:
    return [
        page
        for page in dash.page_registry.values()
        if not page["module"].endswith("not_found_404")
        and (not page.get("admin_only") or (user is not None and user.is_admin))
    ]


def data_as_of() -> str:
    """The newest stored close ("" before any ingest, or with no database)."""
    try:
        return picker().as_of or ""
    except UNREACHABLE:
        return ""


def navbar() -> dbc.Navbar:
    """The pages' links on one line from 1024 px up (each label unbroken), the data's date from 1200 px
    up, and the account menu (who, the data's date, log out); below 992 px all fold behind a toggler."""
    user = auth.current_user()
    links = [
        dbc.NavItem(
            dbc.NavLink(
                page["name"], href=page["relative_path"], id=f"nav-{_short(page)}", className="text-nowrap"
            )
        )
        for page in _nav_pages(user)
    ]
    who = f"{user.username} ({user.role})" if user else "Account"
    as_of = data_as_of() if user is not None else ""  # Dash builds the shell once at set-up, logged out
    stamp = f"Data as of {as_of}" if as_of else "No data stored yet"
    account = dbc.DropdownMenu(
        [
            dbc.DropdownMenuItem(html.Span(stamp, id="nav-menu-as-of"), header=True),
            dbc.DropdownMenuItem(divider=True),
            _session_form("/logout", "Log out", "nav-logout"),
            _session_form("/logout/everywhere", "Log out everywhere", "nav-logout-everywhere"),
        ],
        label=html.Span(who, id="nav-user"),
        id="nav-user-menu",
        nav=True,
        in_navbar=True,
        align_end=True,
        toggle_class_name="text-nowrap",
    )
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand("MyCFATool", href="/"),
                dbc.NavbarToggler(
                    [
                        html.Span(className="navbar-toggler-icon"),
                        html.Span("Menu", className="visually-hidden"),
                    ],
                    id="nav-toggler",
                    n_clicks=0,
                ),
                dbc.Collapse(
                    [
                        dbc.Nav(links, navbar=True, className="me-auto", id="nav-pages"),
                        html.Span(
                            stamp,
                            className=f"navbar-text small me-2 text-nowrap d-none d-{NAV_STAMP}-inline",
                            id="nav-as-of",
                            title="The newest stored daily close",
                        ),
                        dbc.Nav(account, navbar=True),
                    ],
                    id="nav-collapse",
                    is_open=False,
                    navbar=True,
                ),
            ],
            fluid=True,
        ),
        color="dark",
        dark=True,
        expand=NAV_COLLAPSE,
        className="mb-3",
    )


def _short(page: dict[str, Any]) -> str:
    return str(page["module"]).rsplit(".", 1)[-1]


def shell() -> html.Div:
    """The layout around every page (built per request: the navbar depends on the user's role)."""
    paths = {_short(page): page["relative_path"] for page in dash.page_registry.values()}
    nav = [{"page": name, "path": paths[name], "symbol": symbol} for name, symbol in CARRIED.items()]
    return html.Div(
        [
            html.A(
                "Skip to the page's content", href="#main", className="visually-hidden-focusable mycfa-skip"
            ),
            html.Header(navbar()),
            html.Main(dbc.Container(dash.page_container, fluid=True), id="main", tabIndex="-1"),
            dcc.Store(id=CONTEXT_ID, storage_type="session"),
            dcc.Store(id="app-nav", data=nav),
        ]
    )


def _register_shell_callbacks() -> None:
    """The navbar's links carry the context (`assets/urlstate.js`); its toggler folds it on narrow screens."""
    clientside_callback(
        ClientsideFunction(namespace="mycfa", function_name="navLinks"),
        [Output(f"nav-{name}", "href") for name in CARRIED],
        Input(CONTEXT_ID, "data"),
        State("app-nav", "data"),
    )
    clientside_callback(
        ClientsideFunction(namespace="mycfa", function_name="toggle"),
        Output("nav-collapse", "is_open"),
        Input("nav-toggler", "n_clicks"),
        State("nav-collapse", "is_open"),
        prevent_initial_call=True,
    )


def health_live() -> flask.Response:
    """The process answers: what the load balancer and the container HEALTHCHECK ask."""
    return flask.jsonify({"status": "live"})


def health_ready() -> flask.Response:
    """503 when no database node answers; which node is up, and its lag, only for an admin."""
    nodes = services().router.health()  # TTL-cached: a public endpoint must not open connections per hit
    ready = any(n.reachable for n in nodes.values())
    body: dict[str, Any] = {"status": "ready" if ready else "unavailable"}
    user = auth.current_user()
    admin = user is not None and user.is_admin
    if admin:
        body["nodes"] = {
            name: {"role": n.role, "reachable": n.reachable, "lagging": n.lagging, "lag_bytes": n.lag_bytes}
            for name, n in nodes.items()
        }
    body["serving"] = serving_health(ready, admin=admin)
    response = flask.jsonify(body)
    response.status_code = 200 if ready else 503
    return response


def serving_health(ready: bool, *, admin: bool) -> dict[str, Any]:
    """Each serving-layer table's last refresh (docs/serving.md): its state and the data's as-of date;
    a failure's reason for an admin only. Asked of the database (cached per data version) only when a
    node answers; empty before the engine's first refresh."""
    if not ready:
        return {}
    try:
        tables = serving_state.state()
    except UNREACHABLE:
        return {}
    body: dict[str, Any] = {}
    for name, table in sorted(tables.items()):
        entry = {"state": table["state"], "data_as_of": table["data_as_of"]}
        if admin and table["state"] != "ok":
            entry["error"] = table["error"]
        body[name] = entry
    return body


def create_app(settings: DashboardSettings | None = None) -> dash.Dash:
    """Build the whole app; `settings` defaults to the environment's."""
    settings = settings or load_dashboard_settings()
    configure_logging(settings.log_level)
    server = flask.Flask("dashboard")
    # Refused with 413 before Dash parses it: the largest honest callback body is a few KiB.
    server.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    configure_cookies(server, settings)
    build_services(settings, server)
    auth.init_auth(server)
    access_audit.install(server)
    install_request_hooks(server)
    server.add_url_rule("/health/live", "health_live", health_live, methods=["GET"])
    server.add_url_rule("/health/ready", "health_ready", health_ready, methods=["GET"])
    server.add_url_rule("/export/<page>/<name>.csv", "export", export.export_view, methods=["GET"])
    app = dash.Dash(
        __name__,
        server=server,  # type: ignore[arg-type]
        use_pages=True,
        pages_folder="",
        serve_locally=True,
        title="MyCFATool",
        index_string=INDEX_STRING,
        # The tab's context (its last ticker, each page's last query) reaches every layout: a page opened
        # without a ticker in its link opens on the analyst's last one.
        routing_callback_inputs={"context": State(CONTEXT_ID, "data")},
        update_title=None,  # type: ignore[arg-type]
        suppress_callback_exceptions=True,
    )
    _import_pages()
    responses.install()  # callback answers in one orjson pass (dashboard/responses.py)
    app.layout = shell
    # Hashes of the inline scripts as served: Dash adds some (clientside callbacks) when it sets itself
    # up, in the before_request hook its constructor registered. Hooks run in registration order, so
    # this one, registered after it, marks that setup as done (public Flask API, no Dash internals).
    dash_ready: list[bool] = []

    @server.before_request
    def _dash_ready() -> None:
        if not dash_ready:
            dash_ready.append(True)

    install_headers(server, lambda: content_security_policy(list(app.csp_hashes())) if dash_ready else None)
    # Dash sets itself up in the first request's hooks (callback map, pages router) and marks that done
    # before it is: a second thread's first request then finds no callback ("Callback function not
    # found", a 500), seen on gunicorn workers restarted under load. So the hooks run once here, in
    # this thread, on a path every hook lets through.
    with server.test_request_context("/login"):
        server.preprocess_request()
    return app


def __getattr__(name: str) -> Any:
    # Built lazily so that importing this module (tests, tools) needs no settings.
    if name in ("app", "server"):
        built = create_app()
        globals()["app"], globals()["server"] = built, built.server
        return globals()[name]
    raise AttributeError(name)
