"""The docs name code that exists (issue 23, item 6): every repository path under
``buildpack/``, ``tests/``, ``scripts/``, ``bench/`` or ``.ci/`` that README.md or a page of
docs/ cites is there, and every ``module.name`` in backquotes whose module is one of the
buildpack's (``steps.run``, ``cache.layout``, ``env_cache.decide``, ``cnb.build.main``) names
a module, function, class or constant that the code has. A move or rename that leaves a
doc behind fails here, not in a reader's hands."""
from __future__ import annotations

import importlib
import importlib.util
import re

import pytest

from tests.support import ROOT

DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
_PATH = re.compile(r"(?<![\w/.-])((?:buildpack|tests|scripts|bench|\.ci)/[\w./-]*[\w/])")
_DOTTED = re.compile(r"`([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)(?:\(\))?`")
# A dotted name that ends so is a file (`pdm.lock`, `runtime.txt`, `app.py`; `runtime.text`
# is a misspelled version file the docs warn about), not code.
_FILE_ENDINGS = {"py", "txt", "text", "toml", "lock", "json", "md", "cfg", "conf", "log", "sig",
                 "yml", "yaml", "sh", "so", "a", "d", "launch", "list", "pem", "whl", "xz", "gz"}


def _modules() -> dict[str, list[str]]:
    """Each buildpack module's dotted name (``cache.env_cache``), by every suffix of it that
    a doc may use (``env_cache``, ``cache.env_cache``)."""
    found: dict[str, list[str]] = {}
    for path in (ROOT / "buildpack").rglob("*.py"):
        parts = list(path.relative_to(ROOT / "buildpack").with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        for start in range(len(parts)):
            found.setdefault(".".join(parts[start:]), []).append(".".join(parts))
    return found


MODULES = _modules()


def _cited(pattern: re.Pattern[str]) -> list[tuple[str, str]]:
    return sorted({(doc.relative_to(ROOT).as_posix(), match)
                   for doc in DOCS for match in pattern.findall(doc.read_text())})


def _resolves(dotted: str) -> bool | None:
    """Whether ``dotted`` names something real; None when its module is not the buildpack's
    (``pip._internal.req`` is pip's own code, although ``installers.pip`` is ours too)."""
    parts = dotted.split(".")
    if parts[-1] in _FILE_ENDINGS:
        return None
    found = _resolves_in_buildpack(parts)
    if found is False and importlib.util.find_spec(parts[0]) is not None:
        return None  # a top-level module of its own (pip, os): another project's name
    return found


def _resolves_in_buildpack(parts: list[str]) -> bool | None:
    for cut in range(len(parts), 0, -1):
        for module in MODULES.get(".".join(parts[:cut]), []):
            target: object = importlib.import_module(f"buildpack.{module}")
            for attribute in parts[cut:]:
                target = getattr(target, attribute, None)
            if target is not None:
                return True
        if ".".join(parts[:cut]) in MODULES:
            return False
    return None


@pytest.mark.parametrize("doc, path", _cited(_PATH))
def test_every_cited_path_exists(doc: str, path: str) -> None:
    assert (ROOT / path.rstrip("/")).exists(), f"{doc} cites {path}, which is not in the repository"


@pytest.mark.parametrize("doc, name", [(doc, name) for doc, name in _cited(_DOTTED)
                                       if _resolves(name) is not None])
def test_every_cited_module_name_exists(doc: str, name: str) -> None:
    assert _resolves(name), f"{doc} cites `{name}`, which the buildpack's code does not have"


def test_the_name_check_can_fail() -> None:
    assert _resolves("cache.layout") and _resolves("env_cache.decide")
    assert _resolves("env_cache.no_such_function") is False
    assert _resolves("pdm.lock") is None and _resolves("os.environ") is None
    assert _resolves("pip._internal.req") is None and _resolves("pip.keep_pip_wheel")
