"""ruff and mypy (strict on buildpack/) are clean: in the unit loop, so a push that breaks
them is caught before CI (.ci/run runs them too). Caches live in .cache/ (warm: < 1 s)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import CACHE, ROOT

BIN = Path(sys.executable).parent


@pytest.mark.parametrize("command", [
    ["ruff", "check", "--cache-dir", str(CACHE / "ruff"), "."],
    ["mypy", "--cache-dir", str(CACHE / "mypy")],
])
def test_clean(command: list[str]) -> None:
    result = subprocess.run([str(BIN / command[0]), *command[1:]], cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
