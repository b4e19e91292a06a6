"""Issue 21, property tests of the parsers of outside input not covered elsewhere: the
runtime store's manifest, the sticky version record, the build report (``bin/report``'s
check) and cache entry metadata. Each either answers or refuses with its own error;
nothing else escapes. A fixed number of examples in the unit loop, more in CI."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from buildpack.cache import env_cache
from buildpack.commands import report
from buildpack.plan import python_choice
from buildpack.runtime import manifest

EXAMPLES = 1000 if os.environ.get("CI") else 100

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=4),
    max_leaves=20)
_entry = st.fixed_dictionaries({
    "version": st.one_of(st.text(max_size=12), st.from_regex(r"\A[0-9]{1,6}\.[0-9]{1,6}\.[0-9]{1,6}\Z")),
    "stack": st.text(max_size=8), "arch": st.text(max_size=8),
    "file": st.text(max_size=12), "sha256": st.just("0" * 64) | st.text(max_size=3),
    "size": st.integers() | st.floats() | st.text(max_size=3)})


@settings(max_examples=EXAMPLES, deadline=None, database=None)
@given(st.one_of(st.text(max_size=200), _json.map(json.dumps),
                 st.lists(_entry, max_size=3).map(
                     lambda rs: json.dumps({"schema": 1, "runtimes": rs}))))
def test_store_manifest_parses_or_is_a_manifest_error(text: str) -> None:
    try:
        entries = manifest.parse_manifest(text)
    except manifest.ManifestError:
        return
    for entry in entries:
        assert all(part < 10_000 for part in entry.version_tuple)


@settings(max_examples=EXAMPLES, deadline=None, database=None)
@given(st.one_of(st.binary(max_size=100), _json.map(lambda v: json.dumps(v).encode()),
                 st.text(max_size=12).map(
                     lambda m: json.dumps({"schema": 1, "python_minor": m}).encode())))
def test_sticky_record_reads_or_is_ignored(tmp_path_factory: pytest.TempPathFactory,
                                           data: bytes) -> None:
    cache = tmp_path_factory.getbasetemp() / "record-cache"
    cache.mkdir(exist_ok=True)
    (cache / python_choice.RECORD_NAME).write_bytes(data)
    minor = python_choice.read_record(cache)
    assert minor is None or (0 <= minor[0] < 10_000 and 0 <= minor[1] < 1000)


@settings(max_examples=EXAMPLES, deadline=None, database=None)
@given(st.binary(max_size=200) | _json.map(lambda v: json.dumps(v).encode()))
def test_build_report_check_never_raises(data: bytes) -> None:
    problem = report._problem(data)
    assert problem is None or isinstance(problem, str)


@settings(max_examples=EXAMPLES, deadline=None, database=None)
@given(st.binary(max_size=200) | _json.map(lambda v: json.dumps(v).encode()))
def test_cache_metadata_reads_or_is_none(tmp_path_factory: pytest.TempPathFactory,
                                         data: bytes) -> None:
    entry: Path = tmp_path_factory.getbasetemp() / "metadata-entry"
    entry.mkdir(exist_ok=True)
    (entry / "metadata.json").write_bytes(data)
    found = env_cache._read_metadata(entry)
    assert found is None or isinstance(found, dict)
