"""requirements.lock: pins every extra of pyproject with hashes, and lock_subset picks one program's part."""

from __future__ import annotations

import tomllib

from scripts.lock_subset import extra_requirements, normalise, parse_lock, subset
from tests.conftest import REPO_ROOT

LOCK = (REPO_ROOT / "requirements.lock").read_text()
PYPROJECT = (REPO_ROOT / "pyproject.toml").read_text()


def test_lock_pins_every_requirement_of_every_extra_with_hashes() -> None:
    """Each extra's requirement is in the lock at one exact version with at least one sha256 hash."""
    entries = parse_lock(LOCK)
    extras = tomllib.loads(PYPROJECT)["project"]["optional-dependencies"]
    for extra in extras:
        for name in extra_requirements(PYPROJECT, extra):
            block = entries[name][0]
            assert "==" in block.splitlines()[0], name
            assert "--hash=sha256:" in block, name


def test_subset_engine_follows_via_chains_and_leaves_out_the_dashboard() -> None:
    """The engine part holds aiohttp's own dependencies (yarl, multidict), pandas' (the serving layer's
    refresh) and nothing of Dash, scipy or the test tools."""
    names = subset(parse_lock(LOCK), extra_requirements(PYPROJECT, "engine"))
    assert {"aiohttp", "yarl", "multidict", "asyncpg", "pydantic-core", "pandas", "numpy"} <= set(names)
    assert not {"dash", "scipy", "statsmodels", "pytest"} & set(names)


def test_subset_dashboard_includes_extras_of_requirements() -> None:
    """`psycopg[binary]` brings psycopg-binary (a `# via psycopg` entry); no test tool slips in."""
    names = subset(parse_lock(LOCK), extra_requirements(PYPROJECT, "dashboard"))
    assert {"dash", "psycopg", "psycopg-binary", "gunicorn", "ta-lib"} <= set(names)
    assert not {"pytest", "playwright", "mypy", "asyncpg"} & set(names)


def test_parse_lock_reads_single_and_multi_line_via_notes() -> None:
    """Both uv note forms give the parents; a root `# via <project> (pyproject.toml)` gives none."""
    text = (
        "a==1 \\\n    --hash=sha256:00\n    # via mycfatool (pyproject.toml)\n"
        "B_c==2 \\\n    --hash=sha256:11\n    # via\n    #   a\n    #   d\n"
        "d==3 \\\n    --hash=sha256:22\n    # via a\n"
        "e==4 \\\n    --hash=sha256:33\n    # via f\n"
    )
    entries = parse_lock(text)
    assert entries["b-c"][1] == {"a", "d"}
    assert entries["a"][1] == set()
    assert subset(entries, {"a"}) == ["a", "b-c", "d"]
    assert normalise("Flask_Login") == "flask-login"
