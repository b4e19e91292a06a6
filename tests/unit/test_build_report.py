"""The build report's JSON: fields, cache decisions and per-step durations."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from buildpack.base import output
from buildpack.cache import build_report
from buildpack.commands import report


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(output, "STEPS", [("before this build", 1.0)])
    monkeypatch.setattr(build_report, "FIELDS", {})
    monkeypatch.setattr(build_report, "CACHE", {})


def test_steps_last_until_the_next_one_and_the_end() -> None:
    output.STEPS.extend([("Installing pip", 10.0), ("Installing dependencies", 12.5)])
    build_report.note(python_version="3.13.1", package_manager="uv")
    build_report.cache_decision("installed_environment", "installed")
    report = build_report.render(started=9.0, error_id=None, now=20.0)
    assert report == {"schema": 1, "success": True, "python_version": "3.13.1", "package_manager": "uv",
                      "cache": {"installed_environment": "installed"},
                      "steps": [{"step": "Installing pip", "seconds": 2.5},
                                {"step": "Installing dependencies", "seconds": 7.5}],
                      "duration": 11.0}


def test_a_failed_build_names_its_error_id(tmp_path: Path) -> None:
    build_report.write(tmp_path, started=0.0, error_id="procfile::duplicate-type")
    report = json.loads((tmp_path / build_report.REPORT_NAME).read_text())
    assert report["success"] is False and report["error_id"] == "procfile::duplicate-type"
    assert sorted(p.name for p in tmp_path.iterdir()) == [build_report.REPORT_NAME]  # no temp file left


def test_bin_report_prints_it_or_an_empty_object(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert report.main([str(tmp_path), str(tmp_path)]) == 0
    assert capsys.readouterr().out == "{}\n"
    build_report.write(tmp_path, started=0.0, error_id=None)
    report.main([str(tmp_path), str(tmp_path)])
    assert json.loads(capsys.readouterr().out)["success"] is True
