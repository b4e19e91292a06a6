"""APP_BASE: the folder rules, compile's early failures, and what release reads back."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from buildpack.app import app_base
from tests.support import raises_id

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("value, expected", [
    ("api", "api"), ("./api/", "api"), ("services//api/.", "services/api"), (" api \n", "api"),
    ("", ""), (".", ""), ("./", ""), ("my app", "my app"),
])
def test_normalize(value: str, expected: str) -> None:
    assert app_base.normalize(value) == expected


@pytest.mark.parametrize("value, words", [
    ("/srv/api", "absolute"), ("../other", "`..`"), ("api/../../x", "`..`"),
    ("api\nweb", "control characters"), ("a\tb", "control characters"),
])
def test_normalize_refuses(value: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        app_base.normalize(value)


def monorepo(tmp_path: Path) -> Path:
    (tmp_path / "api").mkdir(parents=True)
    (tmp_path / "api" / "requirements.txt").write_text("flask\n")
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "package.json").write_text("{}")
    return tmp_path


def test_choose_folder(tmp_path: Path, capsys) -> None:
    assert app_base.choose(monorepo(tmp_path), "api/") == "api"
    assert "-----> Building the app in api/ (APP_BASE)" in capsys.readouterr().out


def test_choose_root_without_app_base(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "requirements.txt").write_text("sphinx\n")
    assert app_base.choose(tmp_path, None) == ""
    assert app_base.choose(tmp_path / "docs", "") == ""  # no subfolders: plain root


def test_app_in_subfolder_without_app_base_says_what_to_set(tmp_path: Path) -> None:
    with raises_id("app-base::app-in-subfolder") as err:
        app_base.choose(monorepo(tmp_path), None)
    assert "APP_BASE=api" in err.value.body and "empty\nrequirements.txt" in err.value.body


def test_missing_folder(tmp_path: Path) -> None:
    with raises_id("app-base::missing-folder") as err:
        app_base.choose(monorepo(tmp_path), "backend")
    assert "These folders hold a Python app: api/" in err.value.body


def test_missing_folder_after_a_monorepo_buildpack_moved_the_app(tmp_path: Path, capsys) -> None:
    (tmp_path / "requirements.txt").write_text("flask\n")
    assert app_base.choose(tmp_path, "api") == ""
    assert "building the root" in capsys.readouterr().out


def test_folder_link_outside(tmp_path: Path) -> None:
    app = monorepo(tmp_path / "repo")
    (app / "out").symlink_to(tmp_path)
    with raises_id("app-base::link-outside-repo"):
        app_base.choose(app, "out")


def test_names_a_file(tmp_path: Path) -> None:
    with raises_id("app-base::not-a-folder"):
        app_base.choose(monorepo(tmp_path), "api/requirements.txt")


def test_invalid_value(tmp_path: Path) -> None:
    with raises_id("app-base::invalid"):
        app_base.choose(monorepo(tmp_path), "../elsewhere")


def test_record_round_trip(tmp_path: Path) -> None:
    monorepo(tmp_path)
    assert app_base.recorded(tmp_path) == ""
    app_base.record(tmp_path, "api")
    assert (tmp_path / ".heroku" / "app-base").read_text() == "api\n"
    assert app_base.recorded(tmp_path) == "api"
    app_base.record(tmp_path, "")
    assert app_base.recorded(tmp_path) == ""


@pytest.mark.parametrize("content", ["../x\n", "/etc\n", "gone\n", b"\xff\n"])
def test_unusable_record_means_root(tmp_path: Path, content) -> None:
    (tmp_path / ".heroku").mkdir()
    record = tmp_path / ".heroku" / "app-base"
    record.write_bytes(content if isinstance(content, bytes) else content.encode())
    assert app_base.recorded(tmp_path) == ""


# --- bin/compile fails before any work ------------------------------------------------

def run_compile(app: Path, tmp_path: Path, config: dict[str, str]) -> subprocess.CompletedProcess:
    env_dir = tmp_path / "env"
    env_dir.mkdir()
    for name, value in config.items():
        (env_dir / name).write_text(value)
    env = {k: v for k, v in os.environ.items() if k != "APP_BASE"}
    return subprocess.run([str(ROOT / "bin" / "compile"), str(app), str(tmp_path / "cache"),
                           str(env_dir)], capture_output=True, text=True, env=env, timeout=60)


@pytest.mark.parametrize("config, message", [
    ({"APP_BASE": "backend"}, "(error id: app-base::missing-folder)"),
    ({"APP_BASE": "/api"}, "(error id: app-base::invalid)"),
    ({}, "(error id: app-base::app-in-subfolder)"),
])
def test_compile_refuses(tmp_path: Path, config: dict[str, str], message: str) -> None:
    app = monorepo(tmp_path / "repo")
    result = run_compile(app, tmp_path, config)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in app.iterdir()) == ["api", "web"]
