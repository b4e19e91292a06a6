"""Tables the code and the docs both keep, checked against each other: what detect looks
for, and why the environment cache was not reused."""
from __future__ import annotations

import dataclasses
import re

import pytest

from buildpack.app.markers import MARKER_FILES
from buildpack.cache import env_cache
from buildpack.installers.managers import BY_LOCKFILE, PROJECT_FILES
from tests.support import ROOT


def test_every_file_that_chooses_a_package_manager_is_a_detect_marker() -> None:
    """An app whose only Python file is a lock or project file is detected, so compile can
    name what is wrong with it, instead of the platform saying "no buildpack"."""
    for name in [*BY_LOCKFILE, *PROJECT_FILES]:
        assert name in MARKER_FILES, f"{name} chooses a package manager but bin/detect ignores it"


@pytest.mark.parametrize("doc", ["README.md", "docs/platforms/heroku.md"])
def test_the_docs_list_exactly_the_detect_markers(doc: str) -> None:
    [row] = [line for line in (ROOT / doc).read_text().splitlines()
             if line.startswith("| `bin/detect") and "prints `Python`" in line]
    names = re.findall(r"`([^`]+)`", row.split(" at ")[0])
    listed = [name for name in names if re.fullmatch(r"\.?[A-Za-z][\w.-]*", name) and name not in ("Python", "BUILD_DIR")]
    assert sorted(listed) == sorted(MARKER_FILES), f"{doc}'s bin/detect row lists {listed}"


def test_every_cache_key_field_has_a_reason() -> None:
    fields = [field.name for field in dataclasses.fields(env_cache.CacheKey)]
    assert sorted(env_cache._REASONS) == sorted(fields)


@pytest.mark.parametrize("field", [field.name for field in dataclasses.fields(env_cache.CacheKey)])
def test_a_change_to_any_key_field_is_explained(field: str) -> None:
    key = env_cache.CacheKey(format=env_cache.FORMAT_VERSION, python_version="3.13.1", runtime_sha256="a" * 64,
                             stack="heroku-24", arch="x86_64", manager="uv", manager_version="0.9.0",
                             settings_sha256="c" * 64)
    old = dataclasses.asdict(key)
    old[field] = 1 if field == "format" else ("other",) if isinstance(old[field], tuple) else "other"
    [reason] = env_cache.differences(old, key)
    assert reason.strip()
