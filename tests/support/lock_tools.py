"""Lock files made at test time with the pinned Pipenv, Poetry, uv and PDM (a lock records
the index it was made against, so it is made per test session, never committed)."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.apps import copy_fixture
from tests.support.index import clean_pip_env, ensure_tool_packages, tool_requirements
from tests.support.machine import CACHE, locked

LOCK_TOOLS = CACHE / "lock-tools"
INDEX_PLACEHOLDER = "@INDEX_URL@"  # written into fixture manifests, replaced at test time


def lock_tool(name: str) -> Path:
    """The pinned tool ``name`` in a venv of its own (for making lock files at test time)."""
    req = tool_requirements(name)
    venv = LOCK_TOOLS / f"{name}-{hashlib.sha256(req.read_bytes()).hexdigest()[:12]}"
    with locked(f"lock-tool-{name}"):  # one process makes it, the others wait and use it
        if not (venv / ".complete").is_file():
            _make_lock_tool_venv(venv, req)
    return venv / "bin" / name


def _make_lock_tool_venv(venv: Path, req: Path) -> None:
    packages = ensure_tool_packages()
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-index",
                    "--find-links", str(packages), "--require-hashes", "--no-deps",
                    "--only-binary=:all:", "-r", str(req)], check=True, env=clean_pip_env())
    (venv / ".complete").write_text("")


def lock_env(scratch: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """A clean environment for the lock tools: caches and config in ``scratch``."""
    scratch.mkdir(parents=True, exist_ok=True)
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(scratch), "LANG": "C.UTF-8",
           "XDG_CONFIG_HOME": str(scratch / "config"), "XDG_CONFIG_DIRS": str(scratch / "config"),
           "XDG_CACHE_HOME": str(scratch / "cache"), "PIP_CONFIG_FILE": os.devnull,
           "UV_PYTHON_DOWNLOADS": "never", "POETRY_VIRTUALENVS_CREATE": "false",
           "POETRY_KEYRING_ENABLED": "false", "POETRY_CONFIG_DIR": str(scratch / "config"),
           "PIPENV_YES": "1", "PIPENV_NOSPIN": "1", "PIPENV_DONT_LOAD_ENV": "1",
           "PIPENV_IGNORE_VIRTUALENVS": "1", "WORKON_HOME": str(scratch / "venvs"),
           "PDM_USE_VENV": "false", "PDM_CHECK_UPDATE": "false", "PDM_HOME": str(scratch / "pdm")}
    env.update(extra or {})
    return env


def lock_fixture(name: str, dest: Path, index_url: str, python: Path,
                 extra_env: dict[str, str] | None = None) -> Path:
    """Copy ``fixtures/<name>``, point it at ``index_url`` and make its lock file with the
    pinned tool (the lock records that index, so it is made per test session)."""
    app = copy_fixture(name, dest)
    for path in manifests(app):
        path.write_text(path.read_text().replace(INDEX_PLACEHOLDER, index_url))
    return lock_app(app, python, extra_env)


def manifests(app: Path) -> list[Path]:
    """The app's pyproject.toml and Pipfile, those it has (where INDEX_PLACEHOLDER stands)."""
    return [path for name in ("pyproject.toml", "Pipfile") if (path := app / name).is_file()]


def lock_app(app: Path, python: Path, extra_env: dict[str, str] | None = None) -> Path:
    """Make (or remake) ``app``'s lock file with the pinned tool its manifest names
    (Pipfile: Pipenv; [tool.poetry]: Poetry; [tool.pdm]: PDM; else uv)."""
    dest = app.parent
    if (app / "Pipfile").is_file():
        cmd = [str(lock_tool("pipenv")), "lock", "--python", str(python)]
    elif "[tool.poetry" in (app / "pyproject.toml").read_text():
        cmd = [str(lock_tool("poetry")), "lock", "--no-interaction"]
    elif "[tool.pdm" in (app / "pyproject.toml").read_text():
        cmd = [str(lock_tool("pdm")), "lock"]
        extra_env = {"PDM_PYTHON": str(python), **(extra_env or {})}
    else:
        cmd = [str(lock_tool("uv")), "lock", "--python", str(python)]
    proc = subprocess.run(cmd, cwd=app, env=lock_env(dest / ".lock-scratch", extra_env),
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout}{proc.stderr}")
    shutil.rmtree(dest / ".lock-scratch", ignore_errors=True)
    return app
