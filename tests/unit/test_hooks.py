"""bin/pre_compile and bin/post_compile: how they run, what they see, how they fail."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from buildpack.app_build import hooks
from tests.support import raises_id

BUILD_ENV = {"PATH": "/opt/python/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "PIP_NO_INPUT": "1"}


def test_app_env_adds_config_vars_minus_the_blocklist(tmp_path: Path) -> None:
    config = {"SECRET_KEY": "s", "DATABASE_URL": "postgres://x", "PATH": "/evil",
              "LD_PRELOAD": "/evil.so", "PYTHONHOME": "/nonexistent", "PYTHONPATH": "/x",
              "LANG": "de_DE.UTF-8"}
    env = hooks.app_env(BUILD_ENV, config, tmp_path)
    assert env["SECRET_KEY"] == "s" and env["DATABASE_URL"] == "postgres://x"
    assert env["PATH"] == BUILD_ENV["PATH"]
    assert "LD_PRELOAD" not in env and "PYTHONHOME" not in env and "PYTHONPATH" not in env
    assert env["LANG"] == "de_DE.UTF-8"  # the app's choice
    assert env["BUILD_DIR"] == str(tmp_path)
    assert BUILD_ENV == {"PATH": "/opt/python/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
                         "PIP_NO_INPUT": "1"}  # not modified


def test_app_env_exports_the_build_contract(tmp_path: Path) -> None:
    config = {"CACHE_DIR": "/from-config", "STACK": "x"}
    env = hooks.app_env(BUILD_ENV, config, tmp_path / "b", tmp_path / "c", tmp_path / "e", "debian-12")
    assert (env["BUILD_DIR"], env["CACHE_DIR"], env["ENV_DIR"], env["STACK"]) == (
        str(tmp_path / "b"), str(tmp_path / "c"), str(tmp_path / "e"), "debian-12")
    assert hooks.app_env(BUILD_ENV, {}, tmp_path)["ENV_DIR"] == ""  # set, even without one


def test_hook_with_set_u_reads_the_contract(tmp_path: Path, capsys) -> None:
    hook(tmp_path, "pre_compile", '#!/bin/bash\nset -eu\necho "$CACHE_DIR $ENV_DIR $STACK"\n')
    env = hooks.app_env({"PATH": os.environ["PATH"]}, {}, tmp_path, tmp_path / "c", None, "s-1")
    hooks.run_hook(hooks.PRE_COMPILE, tmp_path, tmp_path, env, [])
    assert f"       {tmp_path / 'c'}  s-1\n" in capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(hooks.BLOCKLIST))
def test_every_blocked_name(tmp_path: Path, name: str) -> None:
    assert hooks.app_env({}, {name: "x"}, tmp_path).get(name) is None


def hook(app: Path, name: str, text: str, mode: int = 0o755) -> Path:
    path = app / "bin" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def env_for(app: Path, **config: str) -> dict[str, str]:
    return hooks.app_env({"PATH": os.environ["PATH"]}, config, app)


def test_no_hook_is_fine(tmp_path: Path, capsys) -> None:
    hooks.run_hook(hooks.PRE_COMPILE, tmp_path, tmp_path, env_for(tmp_path), [])
    assert capsys.readouterr().out == ""


def test_hook_runs_in_the_app_folder_with_config_vars(tmp_path: Path, capsys) -> None:
    app = tmp_path / "api"
    hook(app, "post_compile", '#!/bin/sh\necho "in $(basename "$PWD") with $GREETING"\n')
    hooks.run_hook(hooks.POST_COMPILE, app, tmp_path, env_for(tmp_path, GREETING="hi"), [])
    out = capsys.readouterr().out
    assert out == ("-----> Running the post_compile hook (api/bin/post_compile)\n"
                   "       in api with hi\n")


def test_hook_without_shebang_runs_with_sh(tmp_path: Path, capsys) -> None:
    hook(tmp_path, "pre_compile", 'echo "plain $((1 + 1))"\n', mode=0o644)
    hooks.run_hook(hooks.PRE_COMPILE, tmp_path, tmp_path, env_for(tmp_path), [])
    assert "       plain 2\n" in capsys.readouterr().out


def test_hook_not_executable_is_made_executable(tmp_path: Path, capsys) -> None:
    path = hook(tmp_path, "pre_compile", "#!/bin/sh\necho ok\n", mode=0o644)
    hooks.run_hook(hooks.PRE_COMPILE, tmp_path, tmp_path, env_for(tmp_path), [])
    assert os.access(path, os.X_OK)
    assert "       ok\n" in capsys.readouterr().out


def test_secrets_are_masked(tmp_path: Path, capsys) -> None:
    hook(tmp_path, "post_compile", '#!/bin/sh\necho "key is $API_KEY"\n')
    hooks.run_hook(hooks.POST_COMPILE, tmp_path, tmp_path,
                   env_for(tmp_path, API_KEY="hunter2-long-secret"), ["hunter2-long-secret"])
    out = capsys.readouterr().out
    assert "hunter2-long-secret" not in out and "key is" in out


def test_failing_hook_names_itself(tmp_path: Path, capsys) -> None:
    hook(tmp_path, "post_compile", "#!/bin/sh\necho 'migrations missing' >&2\nexit 3\n")
    with raises_id("hooks::failed") as err:
        hooks.run_hook(hooks.POST_COMPILE, tmp_path, tmp_path, env_for(tmp_path), [])
    assert err.value.summary == "The post_compile hook failed"
    assert "bin/post_compile exited with status 3" in err.value.body
    assert "       migrations missing\n" in capsys.readouterr().out


def test_hook_that_cannot_start(tmp_path: Path) -> None:
    hook(tmp_path, "pre_compile", "#!/bin/bash\r\necho hi\r\n")  # CRLF: no /bin/bash\r
    with raises_id("hooks::cannot-start") as err:
        hooks.run_hook(hooks.PRE_COMPILE, tmp_path, tmp_path, env_for(tmp_path), [])
    assert "line endings" in err.value.body


def test_hook_that_cannot_be_read(tmp_path: Path) -> None:
    hook(tmp_path, "post_compile", "#!/bin/sh\necho hi\n", mode=0)
    run = ("from pathlib import Path; from buildpack.app_build import hooks; from buildpack.base import output\n"
           "app = Path.cwd()\n"
           "try: hooks.run_hook(hooks.POST_COMPILE, app, app, hooks.app_env({}, {}, app), [])\n"
           "except output.BuildError as e: print(e.error_id, 'bin/post_compile' in e.body)\n")
    # Root reads any file: it runs without the capabilities that let it.
    unprivileged = (["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]
                    if os.geteuid() == 0 else [])
    done = subprocess.run([*unprivileged, sys.executable, "-c", run], cwd=tmp_path, text=True,
                          capture_output=True, timeout=60,
                          env={"PYTHONPATH": str(Path(__file__).parents[2])})
    assert done.stdout.endswith("\nhooks::cannot-start True\n"), done.stdout + done.stderr


def test_hook_linking_outside_the_app(tmp_path: Path) -> None:
    outside = tmp_path / "outside.sh"
    outside.write_text("#!/bin/sh\necho hi\n")
    app = tmp_path / "app"
    (app / "bin").mkdir(parents=True)
    (app / "bin" / "pre_compile").symlink_to(outside)
    with raises_id("hooks::link-outside-app"):
        hooks.run_hook(hooks.PRE_COMPILE, app, app, env_for(app), [])
