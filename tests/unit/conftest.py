"""Unit tests: the buildpack's libraries (libraries.py) count as loaded. The test venv has
packaging (pytest needs it), tomli-w and Python 3.11+'s tomllib, the same code the pinned wheels
bring; tests/unit/test_libraries.py covers fetching the wheels themselves."""
from __future__ import annotations

import pytest

from buildpack.base import libraries


@pytest.fixture(autouse=True)
def _libraries_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    import packaging.specifiers  # noqa: F401  (fails loudly if the venv lost it)

    monkeypatch.setattr(libraries, "_ready", True)
