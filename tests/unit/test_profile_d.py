""".profile.d/python.sh: sourced by real shells the way the platforms source it."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from buildpack.runtime import profile_d
from buildpack.runtime.profile_d import WEB_CONCURRENCY_SCRIPT, render_profile, write_profile

SHELLS = [shell for shell in ("bash", "dash") if shutil.which(shell)]
SHOW = ('for v in PATH WEB_CONCURRENCY FORWARDED_ALLOW_IPS GUNICORN_CMD_ARGS PYTHONUNBUFFERED '
        'LANG PYTHONHOME LD_LIBRARY_PATH; do eval "echo $v=\\${$v-unset}"; done; echo "PWD=$PWD"')


def source(home: Path, script: str, shell: str = "bash", env: dict[str, str] | None = None,
           after: str = SHOW) -> dict[str, str]:
    (home / ".profile.d").mkdir(parents=True, exist_ok=True)
    (home / ".profile.d" / "python.sh").write_text(script)
    base_env = {"PATH": "/usr/bin:/bin", "HOME": str(home)}
    result = subprocess.run(
        [shell, "-c", f'set -u; cd "$HOME"; . "$HOME/.profile.d/python.sh"; {after}'],
        env={**base_env, **(env or {})}, capture_output=True, text=True, check=True)
    assert result.stderr == ""
    return dict(line.split("=", 1) for line in result.stdout.splitlines()
                if re.match(r"[A-Za-z_][A-Za-z0-9_]*=", line))


def machine_concurrency() -> str:
    script = (f'. "{WEB_CONCURRENCY_SCRIPT}"; _python_web_concurrency /sys/fs/cgroup '
              '/proc/self/cgroup /proc/meminfo "$(nproc)"')
    return subprocess.run(["sh", "-c", script], capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.mark.parametrize("shell", SHELLS)
def test_defaults(tmp_path: Path, shell: str) -> None:
    got = source(tmp_path, render_profile(), shell)
    assert got["PATH"] == f"{tmp_path}/.heroku/python/bin:/usr/bin:/bin"
    assert got["WEB_CONCURRENCY"] == machine_concurrency()
    assert got["FORWARDED_ALLOW_IPS"] == "*"
    assert got["GUNICORN_CMD_ARGS"] == "--access-logfile -"
    assert got["PYTHONUNBUFFERED"] == "true"
    assert got["LANG"] == "C.UTF-8"
    assert got["PYTHONHOME"] == "unset"
    assert got["LD_LIBRARY_PATH"] == f"{tmp_path}/.heroku/python/lib"
    assert got["PWD"] == str(tmp_path)


@pytest.mark.parametrize("shell", SHELLS)
def test_library_paths_put_the_runtime_first(tmp_path: Path, shell: str) -> None:
    env = {"LD_LIBRARY_PATH": "/opt/lib", "LIBRARY_PATH": ""}
    show = 'echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"; echo "LIBRARY_PATH=$LIBRARY_PATH"'
    got = source(tmp_path, render_profile(), shell, env, after=show)
    assert got["LD_LIBRARY_PATH"] == f"{tmp_path}/.heroku/python/lib:/opt/lib"
    assert got["LIBRARY_PATH"] == f"{tmp_path}/.heroku/python/lib"  # no empty entry (= cwd)


@pytest.mark.parametrize("shell", SHELLS)
def test_config_vars_win(tmp_path: Path, shell: str) -> None:
    env = {"WEB_CONCURRENCY": "7", "FORWARDED_ALLOW_IPS": "10.0.0.1",
           "GUNICORN_CMD_ARGS": "--timeout 5", "PYTHONUNBUFFERED": "", "LANG": "de_DE.UTF-8"}
    got = source(tmp_path, render_profile(), shell, env)
    assert got["WEB_CONCURRENCY"] == "7"
    assert got["FORWARDED_ALLOW_IPS"] == "10.0.0.1"
    assert got["GUNICORN_CMD_ARGS"] == "--timeout 5"
    assert got["PYTHONUNBUFFERED"] == "true"  # empty counts as unset
    assert got["LANG"] == "de_DE.UTF-8"


def test_empty_gunicorn_cmd_args_opts_out(tmp_path: Path) -> None:
    assert source(tmp_path, render_profile(), env={"GUNICORN_CMD_ARGS": ""})["GUNICORN_CMD_ARGS"] == ""


def test_empty_web_concurrency_is_computed(tmp_path: Path) -> None:
    got = source(tmp_path, render_profile(), env={"WEB_CONCURRENCY": ""})
    assert got["WEB_CONCURRENCY"] == machine_concurrency()


@pytest.mark.parametrize("shell", SHELLS)
def test_leaves_nothing_of_its_own_behind(tmp_path: Path, shell: str) -> None:
    """Sourced into the process's shell: no helper functions or variables remain."""
    before = source(tmp_path, "", shell, after="set")
    (tmp_path / "api").mkdir()
    after = source(tmp_path, render_profile("api"), shell, after="set")
    added = set(after) - set(before)
    assert added <= {"WEB_CONCURRENCY", "FORWARDED_ALLOW_IPS", "GUNICORN_CMD_ARGS",
                     "PYTHONUNBUFFERED", "LANG", "LD_LIBRARY_PATH", "LIBRARY_PATH", "OLDPWD", "_"}, added
    functions = subprocess.run(
        ["bash", "-c", f'. "{tmp_path}/.profile.d/python.sh"; declare -F'],
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, capture_output=True, text=True)
    assert functions.stdout == ""


@pytest.mark.parametrize("shell", SHELLS)
def test_app_base_changes_into_the_folder(tmp_path: Path, shell: str) -> None:
    folder = "services/my api/$(touch pwned)"
    (tmp_path / folder).mkdir(parents=True)
    got = source(tmp_path, render_profile(folder), shell)
    assert got["PWD"] == str(tmp_path / folder)
    assert not list(tmp_path.rglob("pwned"))


def test_app_base_folder_missing_says_so(tmp_path: Path) -> None:
    (tmp_path / ".profile.d").mkdir()
    (tmp_path / ".profile.d" / "python.sh").write_text(render_profile("api"))
    result = subprocess.run(["bash", "-c", '. "$HOME/.profile.d/python.sh"; echo "ran in $PWD"'],
                            cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
                            capture_output=True, text=True)
    assert result.stdout == f"ran in {tmp_path}\n"
    assert f"buildpack-python: cannot change into {tmp_path}/api (APP_BASE)" in result.stderr


def test_written_script_is_relative_to_home(tmp_path: Path, capsys) -> None:
    path = write_profile(tmp_path)
    text = path.read_text()
    assert path == tmp_path / ".profile.d" / profile_d.PROFILE_NAME
    assert str(tmp_path) not in text
    assert "--access-logfile -" in text
    out = capsys.readouterr().out
    assert "-----> Writing the run-time environment (.profile.d/python.sh)" in out
    assert "gunicorn's access log on stdout" in out


def test_gunicorn_conf_py_keeps_its_own_settings(tmp_path: Path, capsys) -> None:
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "gunicorn.conf.py").write_text("accesslog = '/tmp/access.log'\n")
    text = write_profile(tmp_path, "api").read_text()
    assert "GUNICORN_CMD_ARGS" not in text
    assert 'cd "$HOME"/api' in text
    out = capsys.readouterr().out
    assert "gunicorn.conf.py found: GUNICORN_CMD_ARGS is left to it" in out
    assert "Processes start in api/ (APP_BASE)" in out
