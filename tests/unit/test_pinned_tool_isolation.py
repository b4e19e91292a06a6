"""Issue 23's PDM CI failure: PDM runs on the app's Python and installs into its
site-packages with parallel threads, and unearth imports ``requests`` lazily whenever PDM
makes a package finder. The app's half-written ``requests`` was imported mid-install (an
ImportError from requests/exceptions.py, or PDM killed by SIGBUS, most likely from
charset-normalizer's .so mapped while written; 2 of 20 PDM CI builds run in pairs at load 12).
So PDM's own process must not see that site-packages at all.

The real command line of the pinned tools (``pinned_tools.command``) runs a stand-in
``pdm`` module on a real venv whose site-packages holds a ``requests``: what the stand-in
can import, PDM could."""
from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from buildpack.installers import pinned_tools

PROBE = "import importlib.util\nprint(importlib.util.find_spec('requests') is not None)\n"


def _can_import_the_apps_requests(tmp_path: Path, tool: pinned_tools.Tool) -> bool:
    venv = tmp_path / "venv"
    if not venv.exists():
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
        [site] = venv.glob("lib/python3*/site-packages")
        (site / "requests").mkdir()
        (site / "requests" / "__init__.py").write_text("HALF_WRITTEN = True\n")
        (tmp_path / "tool" / "pdm").mkdir(parents=True)
        (tmp_path / "tool" / "pdm" / "__init__.py").write_text("")
        (tmp_path / "tool" / "pdm" / "__main__.py").write_text(PROBE)
    ctx = SimpleNamespace(python=venv / "bin" / "python")
    cmd = pinned_tools.command(ctx, tool, tmp_path / "tool", ["sync"])  # type: ignore[arg-type]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True).stdout
    return out == "True\n"


def test_pdm_cannot_import_what_it_installs_into_the_apps_python(tmp_path: Path) -> None:
    assert not _can_import_the_apps_requests(tmp_path, pinned_tools.TOOLS["pdm"])


def test_the_probe_sees_the_apps_site_packages_without_the_isolation(tmp_path: Path) -> None:
    """Poetry's record keeps site-packages (it reads the installed packages from its own
    sys.path): the same probe under it finds the app's requests, so the test above can fail."""
    poetry_like = dataclasses.replace(pinned_tools.TOOLS["poetry"], module="pdm")
    assert not poetry_like.without_site
    assert _can_import_the_apps_requests(tmp_path, poetry_like)
