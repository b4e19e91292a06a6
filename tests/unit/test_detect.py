"""bin/detect: which apps are Python apps, and the real shim's exit codes and output."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from buildpack.app.markers import MARKER_FILES, found_markers, is_python_app

ROOT = Path(__file__).resolve().parents[2]
DETECT = ROOT / "bin" / "detect"


def run_detect(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(DETECT), *args], capture_output=True, text=True,
                          encoding="utf-8", timeout=30, env=os.environ.copy())


def test_marker_list() -> None:
    assert set(MARKER_FILES) == {
        "requirements.txt", "runtime.txt", ".python-version", "setup.py", "setup.cfg",
        "pyproject.toml", "Pipfile", "poetry.lock", "uv.lock", "pdm.lock", "pylock.toml",
    }


def test_empty_dir_is_not_python(tmp_path: Path) -> None:
    assert not is_python_app(tmp_path)


@pytest.mark.parametrize("marker", MARKER_FILES)
def test_each_marker_file(tmp_path: Path, marker: str) -> None:
    (tmp_path / marker).write_text("")
    assert is_python_app(tmp_path)
    assert found_markers(tmp_path) == [marker]


def test_marker_symlink_counts(tmp_path: Path) -> None:
    (tmp_path / "reqs").write_text("flask\n")
    (tmp_path / "requirements.txt").symlink_to("reqs")
    assert is_python_app(tmp_path)


def test_dangling_marker_symlink_counts(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").symlink_to("requirements/prod.txt")
    assert is_python_app(tmp_path)


def test_marker_directory_does_not_count(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").mkdir()
    (tmp_path / "setup.py").mkdir()
    assert not is_python_app(tmp_path)


def test_markers_only_at_the_root(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "requirements.txt").write_text("flask\n")
    (tmp_path / "app.py").write_text("print('hi')\n")
    (tmp_path / "package.json").write_text("{}")
    assert not is_python_app(tmp_path)


def test_names_are_case_sensitive(tmp_path: Path) -> None:
    (tmp_path / "Requirements.TXT").write_text("flask\n")
    if (tmp_path / "requirements.txt").exists():
        pytest.skip("case-insensitive file system")
    assert not is_python_app(tmp_path)


def test_several_markers(tmp_path: Path) -> None:
    for name in ("uv.lock", "pyproject.toml", ".python-version"):
        (tmp_path / name).write_text("")
    assert found_markers(tmp_path) == [".python-version", "pyproject.toml", "uv.lock"]


# --- the real bin/detect --------------------------------------------------------------

def test_detect_python_app(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("flask\n")
    result = run_detect(str(tmp_path), "/tmp/cache-dir-from-old-platforms")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Python\n"
    assert result.stderr == ""


def test_detect_other_app(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text("{}")
    result = run_detect(str(tmp_path))
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert "requirements.txt" in lines[0] and "uv.lock" in lines[0]
    assert "Traceback" not in result.stderr and " !     " not in result.stderr


@pytest.mark.parametrize("args", [[], ["/nonexistent/build/dir"]])
def test_detect_bad_arguments(args: list[str]) -> None:
    result = run_detect(*args)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip()
    assert "Traceback" not in result.stderr


def test_detect_build_dir_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "requirements.txt"
    target.write_text("")
    result = run_detect(str(target))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr


# --- apps in a subfolder (APP_BASE) ---------------------------------------------------

def run_detect_env(build_dir: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "APP_BASE"}
    env.update(extra)
    return subprocess.run([str(DETECT), str(build_dir)], capture_output=True, text=True,
                          encoding="utf-8", timeout=30, env=env)


def test_python_subfolders(tmp_path: Path) -> None:
    from buildpack.app.markers import python_subfolders

    for name in ("web", "api", ".github", "docs/deep"):
        (tmp_path / name).mkdir(parents=True)
    (tmp_path / "api" / "pyproject.toml").write_text("")
    (tmp_path / ".github" / "requirements.txt").write_text("")
    (tmp_path / "docs" / "deep" / "requirements.txt").write_text("")
    (tmp_path / "web" / "package.json").write_text("{}")
    (tmp_path / "linked").symlink_to(tmp_path / "api")
    assert python_subfolders(tmp_path) == ["api"]


def test_detect_app_base_from_the_environment(tmp_path: Path) -> None:
    (tmp_path / "services" / "api").mkdir(parents=True)
    (tmp_path / "services" / "api" / "requirements.txt").write_text("flask\n")
    assert run_detect_env(tmp_path, APP_BASE="services/api").stdout == "Python\n"


def test_detect_first_level_subfolder_without_app_base(tmp_path: Path) -> None:
    """So that platforms refusing a failed detect still run compile, which explains APP_BASE."""
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "requirements.txt").write_text("flask\n")
    result = run_detect_env(tmp_path)
    assert result.returncode == 0 and result.stdout == "Python\n"


@pytest.mark.parametrize("value", ["nowhere", "/etc", "../.."])
def test_detect_unusable_app_base_is_not_python(tmp_path: Path, value: str) -> None:
    (tmp_path / "README.md").write_text("")
    result = run_detect_env(tmp_path, APP_BASE=value)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"APP_BASE={value}" in result.stderr
