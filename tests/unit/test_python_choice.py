"""The whole version decision on app folders and a store manifest: sources, sticky
record, requires-python, end of life, tool support, and what the log says."""
from __future__ import annotations

import datetime
import json

import pytest

from buildpack import installers
from buildpack.base.output import BuildError
from buildpack.installers import managers
from buildpack.plan import python_choice
from buildpack.python_version.python_lifecycle import EOL_GRACE_DAYS, Lifecycle
from buildpack.runtime.manifest import RuntimeEntry
from tests.support import write_app

TODAY = datetime.date(2026, 11, 30)
STORE = ["3.9.18", "3.10.13", "3.11.7", "3.12.1", "3.12.8", "3.13.0", "3.13.18", "3.14.10", "3.15.2"]
ENTRIES = [RuntimeEntry(v, "debian-12", "x86_64", f"python-{v}.tar.gz", "0" * 64, 1) for v in STORE]
PROJECT = ('[project]\nname = "app"\nversion = "0.1.0"\n{extra}\n'
           '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n')


def _app(tmp_path, files):
    app = write_app(tmp_path, files)
    cache = tmp_path / "cache"
    cache.mkdir(exist_ok=True)
    return app, cache


def _choose(app, cache, today=TODAY, lifecycle=None):
    """Plan the version, then keep the record as the build's first step does."""
    before = sorted(p.name for p in cache.iterdir())
    chosen = python_choice.choose_runtime(app, cache, installers.choose(app), ENTRIES, today, lifecycle)
    assert sorted(p.name for p in cache.iterdir()) == before, "planning wrote into the cache"
    python_choice.keep_record(cache, chosen.record)
    return chosen.runtime.version


def _record(cache):
    return json.loads((cache / python_choice.RECORD_NAME).read_text())


def test_no_version_gets_the_default_and_records_it(tmp_path, capsys):
    app, cache = _app(tmp_path, {"requirements.txt": "flask\n"})
    assert _choose(app, cache) == "3.14.10"
    out = capsys.readouterr().out
    assert "-----> No Python version specified; using the default, Python 3.14 (python-3.14.10)" in out
    assert "Python 3.15 becomes the default for new apps on 2026-12-30." in out
    assert "This app stays on 3.14 on later builds" in out
    assert _record(cache) == {"schema": 1, "python_minor": "3.14"}


def test_sticky_across_a_default_move(tmp_path, capsys):
    app, cache = _app(tmp_path, {"requirements.txt": "flask\n"})
    before = datetime.date(2025, 12, 1)  # 3.14.0 is not yet 90 days old: 3.13 is the default
    assert _choose(app, cache, before) == "3.13.18"
    capsys.readouterr()
    assert _choose(app, cache, TODAY) == "3.13.18"  # the default is 3.14 now; the app stays
    out = capsys.readouterr().out
    assert "-----> No Python version specified; using Python 3.13 as on this app's earlier builds" in out
    assert "The default for new apps is now 3.14. This app stays on 3.13" in out
    assert "To upgrade, write 3.14 into .python-version; to keep 3.13 for good, write 3.13." in out
    # A new app (an empty cache) gets the new default.
    fresh, fresh_cache = _app(tmp_path / "other", {"requirements.txt": "flask\n"})
    assert _choose(fresh, fresh_cache) == "3.14.10"


@pytest.mark.parametrize("content", [b"", b"{", b"\xff\xfe", b"[]", b'{"schema": 1}',
                                     b'{"schema": 1, "python_minor": "3.x"}',
                                     b'{"schema": 9, "python_minor": "3.13"}',
                                     b'{"schema": 1, "python_minor": 3.13}', b"x" * 10000])
def test_garbage_record_is_ignored_with_a_warning(tmp_path, capsys, content):
    app, cache = _app(tmp_path, {})
    (cache / python_choice.RECORD_NAME).write_bytes(content)
    assert _choose(app, cache) == "3.14.10"
    assert "Warning: Ignoring an unreadable record of this app's Python version" in capsys.readouterr().err
    assert _record(cache)["python_minor"] == "3.14"


def test_record_that_is_a_directory_or_link_is_ignored(tmp_path, capsys):
    app, cache = _app(tmp_path, {})
    (cache / python_choice.RECORD_NAME).mkdir()
    assert _choose(app, cache) == "3.14.10"
    assert _record(cache)["python_minor"] == "3.14"
    (cache / python_choice.RECORD_NAME).unlink()
    (tmp_path / "elsewhere.json").write_text('{"schema": 1, "python_minor": "3.12"}')
    (cache / python_choice.RECORD_NAME).symlink_to(tmp_path / "elsewhere.json")
    assert _choose(app, cache) == "3.14.10"
    assert "unreadable record" in capsys.readouterr().err
    assert not (cache / python_choice.RECORD_NAME).is_symlink()


def test_record_write_replaces_leftovers_of_a_killed_build(tmp_path):
    app, cache = _app(tmp_path, {})
    (cache / f".{python_choice.RECORD_NAME}.abc123.tmp").write_text("half")
    _choose(app, cache)
    assert sorted(p.name for p in cache.iterdir()) == [python_choice.RECORD_NAME]


def test_a_named_version_removes_the_record(tmp_path):
    app, cache = _app(tmp_path, {})
    _choose(app, cache)
    (app / ".python-version").write_text("3.12\n")
    assert _choose(app, cache) == "3.12.8"
    assert not (cache / python_choice.RECORD_NAME).exists()


@pytest.mark.parametrize("requires, expected, line", [
    ('requires-python = ">=3.11"', "3.14.10", "using the default, Python 3.14"),
    ('requires-python = "<3.13"', "3.12.8", "using Python 3.12, the newest the store has that satisfies"),
    ('requires-python = "==3.11.*"', "3.11.7", "using Python 3.11, the newest"),
    ('requires-python = ">=3.15"', "3.15.2", "using Python 3.15, the newest"),
])
def test_requires_python_narrows_the_default(tmp_path, capsys, requires, expected, line):
    app, cache = _app(tmp_path, {"pyproject.toml": PROJECT.format(extra=requires)})
    assert _choose(app, cache) == expected
    out = capsys.readouterr().out
    assert line in out
    said = f"pyproject.toml ([project] requires-python) says {requires.split(' = ')[1][1:-1]!r}: "
    assert out.index("-----> No Python version specified") < out.index(said)  # explained under the step
    assert _record(cache)["python_minor"] == expected.rsplit(".", 1)[0]


def test_requires_python_beats_the_sticky_minor_it_excludes(tmp_path, capsys):
    app, cache = _app(tmp_path, {"pyproject.toml": PROJECT.format(extra='requires-python = ">=3.14"')})
    (cache / python_choice.RECORD_NAME).write_text('{"schema": 1, "python_minor": "3.12"}')
    assert _choose(app, cache) == "3.15.2"
    assert "Python 3.12 (sticky) does not satisfy it" in capsys.readouterr().out


def test_requires_python_nothing_fits(tmp_path):
    app, cache = _app(tmp_path, {"pyproject.toml": PROJECT.format(extra='requires-python = "<3.10"')})
    with pytest.raises(BuildError) as info:
        _choose(app, cache)
    assert info.value.error_id == "python-version::unavailable"
    assert "pyproject.toml ([project] requires-python) says '<3.10'" in info.value.body
    assert "3.9.18" not in info.value.body  # refused by the end-of-life policy: not offered


def test_explicit_version_is_not_narrowed(tmp_path):
    # The contradiction is python_check's error (plan.make_plan), not a silent narrowing.
    app, cache = _app(tmp_path, {"pyproject.toml": PROJECT.format(extra='requires-python = ">=3.13"'),
                                 ".python-version": "3.12\n"})
    assert _choose(app, cache) == "3.12.8"


def test_pipfile_lock_python_version(tmp_path, capsys):
    lock = json.dumps({"_meta": {"requires": {"python_version": "3.12"}}, "default": {}})
    app, cache = _app(tmp_path, {"Pipfile": "", "Pipfile.lock": lock})
    assert _choose(app, cache) == "3.12.8"
    assert "-----> Using Python 3.12 specified in Pipfile.lock" in capsys.readouterr().out


def test_runtime_txt_wins_over_python_version_with_a_warning(tmp_path, capsys):
    app, cache = _app(tmp_path, {"runtime.txt": "python-3.13.0\n", ".python-version": "3.11\n"})
    assert _choose(app, cache) == "3.13.0"
    err = capsys.readouterr().err
    assert "Warning: .python-version is ignored: runtime.txt decides." in err
    assert "runtime.txt asks for python-3.13.0 and .python-version for 3.11." in err


def test_several_versions_in_python_version_warn(tmp_path, capsys):
    app, cache = _app(tmp_path, {".python-version": "3.13\n3.12\n# x\n3.11.7\n"})
    assert _choose(app, cache) == "3.13.18"
    err = capsys.readouterr().err
    assert "Warning: .python-version names more than one version." in err
    assert "    line 2: 3.12\n" in err and "    line 4: 3.11.7\n" in err


# --- end of life, the same for every source -----------------------------------------------

@pytest.mark.parametrize("files", [
    {"runtime.txt": "python-3.9.18"}, {".python-version": "3.9"},
    {"Pipfile": "", "Pipfile.lock": json.dumps({"_meta": {"requires": {"python_version": "3.9"}}})},
    {"runtime.txt": "python-2.7.18"}, {".python-version": "3.5"},
])
def test_end_of_life_minor_is_refused_at_plan_time(tmp_path, files):
    app, cache = _app(tmp_path, files)
    with pytest.raises(BuildError) as info:
        _choose(app, cache)
    assert info.value.error_id == "python-version::end-of-life"
    assert "is end-of-life and no longer supported" in info.value.summary
    assert "Available versions: 3.15.2, 3.14.10, 3.13.18, 3.13.0, 3.12.8, 3.12.1, 3.11.7, 3.10.13" \
        in info.value.body  # only what this build may use (no 3.9)


def test_sticky_end_of_life_minor_is_refused_too(tmp_path):
    app, cache = _app(tmp_path, {})
    (cache / python_choice.RECORD_NAME).write_text('{"schema": 1, "python_minor": "3.9"}')
    with pytest.raises(BuildError) as info:
        _choose(app, cache)
    assert info.value.error_id == "python-version::end-of-life"
    assert "The version this app was first built with" in info.value.body
    assert "Write a supported version into .python-version, for example 3.14." in info.value.body


def test_grace_period_warns_with_the_refusal_date(tmp_path, capsys):
    app, cache = _app(tmp_path, {".python-version": "3.10\n"})
    assert _choose(app, cache) == "3.10.13"
    err = capsys.readouterr().err
    refused = datetime.date(2026, 10, 31) + datetime.timedelta(EOL_GRACE_DAYS)
    assert "Warning: Python 3.10 reached its end of life on 2026-10-31." in err
    assert f"will fail from {refused}" in err
    with pytest.raises(BuildError):
        _choose(app, cache, refused)


def test_ending_soon_warns(tmp_path, capsys):
    app, cache = _app(tmp_path, {".python-version": "3.11\n"})
    _choose(app, cache)
    assert "Warning: Python 3.11 reaches its end of life on 2027-10-31." in capsys.readouterr().err


def test_unavailable_patch_lists_only_usable_versions(tmp_path):
    app, cache = _app(tmp_path, {"runtime.txt": "python-3.12.99"})
    with pytest.raises(BuildError) as info:
        _choose(app, cache)
    assert info.value.error_id == "python-version::unavailable"
    assert "For Python 3.12: 3.12.8, 3.12.1" in info.value.body
    assert "3.9.18" not in info.value.body


# --- the pinned tools ------------------------------------------------------------------------

def test_pinned_pip_bounds_the_python_at_plan_time():
    error = python_choice.tool_support_error((3, 9), managers.PIP)
    assert error is not None and error.error_id == "package-manager::python-too-old"
    assert error.summary == "pip 26.3 does not support Python 3.9"
    assert python_choice.tool_support_error((3, 10), managers.POETRY) is None


def test_package_manager_bounds_the_python_too(monkeypatch):
    monkeypatch.setattr(python_choice.settings, "pip_min_python", lambda: (3, 6))
    error = python_choice.tool_support_error((3, 9), managers.POETRY)
    assert error is not None and error.summary.startswith("Poetry ")
    assert "runs on\nPython 3.10 and newer only" in error.body
    assert python_choice.tool_support_error((3, 9), managers.PIP) is None


def test_a_grace_minor_the_pinned_pip_lacks_is_refused_as_such(tmp_path):
    # A policy that still allows 3.9 (a long grace period) meets pip's own bound.
    lifecycle = Lifecycle.from_tables({"3.9": "2020-10-05", "3.14": "2025-10-07"},
                                      {"3.9": "2026-11-01", "3.14": "2030-10-31"})
    app, cache = _app(tmp_path, {".python-version": "3.9"})
    with pytest.raises(BuildError) as info:
        _choose(app, cache, lifecycle=lifecycle)
    assert info.value.error_id == "package-manager::python-too-old"
