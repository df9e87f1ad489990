"""scripts/slim_venv and scripts/compile_imports.py: what the images' builder stages leave in a venv."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT


def _site(venv: Path) -> Path:
    return next((venv / "lib").glob("python3.*/site-packages"))


def test_slim_venv_drops_pip_tests_maps_mkl_and_links_vendored_copies(tmp_path: Path) -> None:
    """pip, tests/ folders, source maps, C sources and SCS's MKL build go; equal vendored libraries become one."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    site = _site(venv)
    files = {
        "pkg/__init__.py": "VALUE = 1\n",
        "pkg/tests/test_pkg.py": "",
        "pkg/testing.py": "",
        "pkg/bundle.js": "x",
        "pkg/bundle.js.map": "{}",
        "pkg/_speedups.c": "",
        "pkg/__init__.pyi": "",
        "dash/deps/react@18.3.1.js": "dev",
        "dash/deps/react@18.3.1.min.js": "prod",
        "dash/deps/polyfill@7.12.1.min.js": "prod",
        "dash/dash-renderer/build/dash_renderer.dev.js": "dev",
        "dash/dash-renderer/build/dash_renderer.min.js": "prod",
        "plotly/labextension/package.json": "{}",
        "plotly/package_data/widgetbundle.js": "x",
        "plotly/package_data/plotly.min.js": "x",
        "scs/_scs_direct.cpython-311-x86_64-linux-gnu.so": "direct",
        "scs/_scs_mkl.cpython-311-x86_64-linux-gnu.so": "mkl",
        "aaa.libs/libopenblas-r0-11edc3fa.3.15.so": "blas",
        "zzz.libs/libopenblas-r0-11edc3fa.3.15.so": "blas, patched",
        "zzz.libs/libother-12345678.so": "other",
    }
    for name, text in files.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text(text)
    # A real extension module (cffi's, from this interpreter) with its symbol table, to be stripped.
    extension = Path(importlib.util.find_spec("_cffi_backend").origin)  # type: ignore[union-attr,arg-type]
    shutil.copy(extension, site / extension.name)
    subprocess.run(
        ["objcopy", "--add-symbol", "slim_venv_probe=.text:0", str(site / extension.name)], check=True
    )

    result = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "slim_venv"), str(venv)], capture_output=True, text=True
    )

    assert result.returncode == 0, result.stderr
    assert "MB ->" in result.stderr
    assert not list(site.glob("pip*"))
    assert not (venv / "bin" / "pip").exists()
    kept = {
        "pkg/__init__.py",
        "pkg/testing.py",
        "pkg/bundle.js",
        "scs/_scs_direct.cpython-311-x86_64-linux-gnu.so",
        "dash/deps/react@18.3.1.min.js",
        "dash/deps/polyfill@7.12.1.min.js",
        "dash/dash-renderer/build/dash_renderer.min.js",
        "plotly/package_data/plotly.min.js",
    }
    gone = {
        "pkg/__init__.pyi",
        "dash/deps/react@18.3.1.js",
        "dash/dash-renderer/build/dash_renderer.dev.js",
        "plotly/labextension",
        "plotly/package_data/widgetbundle.js",
        "pkg/tests",
        "pkg/bundle.js.map",
        "pkg/_speedups.c",
        "scs/_scs_mkl.cpython-311-x86_64-linux-gnu.so",
    }
    assert all((site / name).exists() for name in kept)
    assert not any((site / name).exists() for name in gone)
    copy = site / "zzz.libs/libopenblas-r0-11edc3fa.3.15.so"
    assert copy.is_symlink()
    assert copy.read_text() == "blas"
    assert not (site / "zzz.libs/libother-12345678.so").is_symlink()
    assert "1 extension modules stripped" in result.stderr
    assert b"slim_venv_probe" not in (site / extension.name).read_bytes()
    ok = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import pkg, _cffi_backend; print(pkg.VALUE)"],
        capture_output=True,
    )
    assert ok.stdout.strip() == b"1"


def test_compile_imports_writes_the_pyc_of_every_submodule_into_the_prefix(tmp_path: Path) -> None:
    """Each module of the named package gets a .pyc under PYTHONPYCACHEPREFIX; one that fails fails the run."""
    package = tmp_path / "src" / "app"
    (package / "pages").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "pages" / "__init__.py").write_text("")
    (package / "pages" / "home.py").write_text("import json\n")
    prefix = tmp_path / "pycache"
    env = {**os.environ, "PYTHONPYCACHEPREFIX": str(prefix), "PYTHONPATH": str(tmp_path / "src")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    script = str(REPO_ROOT / "scripts" / "compile_imports.py")

    result = subprocess.run([sys.executable, script, "app"], env=env, capture_output=True, text=True)

    assert result.returncode == 0, result.stderr
    tree = prefix / str(package).lstrip("/")
    assert list((tree / "pages").glob("home.cpython-*.pyc"))
    assert list(prefix.rglob("json/__init__.cpython-*.pyc"))  # the standard library's too
    (package / "pages" / "broken.py").write_text("import not_installed_anywhere\n")
    failed = subprocess.run([sys.executable, script, "app"], env=env, capture_output=True, text=True)
    assert failed.returncode != 0
    assert "not_installed_anywhere" in failed.stderr
