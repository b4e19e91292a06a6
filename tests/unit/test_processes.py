"""Process types: the Procfile that applies, default web processes, what compile logs and
what the real bin/release prints."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from buildpack.app import app_base, processes
from buildpack.app.app_files import AppFiles
from tests.support import raises_id

ROOT = Path(__file__).resolve().parents[2]
MAIN = 'if __name__ == "__main__":\n    run()\n'


def django_app(app: Path, folder: str = ".", gunicorn: bool = True) -> Path:
    root = app / folder
    (root / "mysite").mkdir(parents=True)
    (root / "mysite" / "wsgi.py").write_text("application = None\n")
    (root / "manage.py").write_text(
        'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")\n' + MAIN)
    if gunicorn:
        install_gunicorn(app)
    return app


def install_gunicorn(slug: Path) -> None:
    bin_dir = slug / ".heroku" / "python" / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    (bin_dir / "gunicorn").write_text("#!/bin/sh\n")


def prefix(slug: Path) -> Path:
    return slug / ".heroku" / "python"


# --- defaults -------------------------------------------------------------------------

def test_django_with_gunicorn(tmp_path: Path) -> None:
    default = processes.default_web(django_app(tmp_path), prefix(tmp_path))
    assert default.command == "gunicorn mysite.wsgi"
    assert default.reason == "Django app (mysite/wsgi.py) with gunicorn installed"


def test_django_project_in_a_subfolder(tmp_path: Path) -> None:
    default = processes.default_web(django_app(tmp_path, "src"), prefix(tmp_path))
    assert default.command == "gunicorn --chdir src mysite.wsgi"


def test_django_without_gunicorn_has_no_default(tmp_path: Path) -> None:
    default = processes.default_web(django_app(tmp_path, gunicorn=False), prefix(tmp_path))
    assert default.command is None
    assert "gunicorn is not in its requirements" in default.reason
    assert "`gunicorn mysite.wsgi`" in default.reason


def test_django_folder_with_shell_characters_has_no_default(tmp_path: Path) -> None:
    default = processes.default_web(django_app(tmp_path, "my src"), prefix(tmp_path))
    assert default.command is None


@pytest.mark.parametrize("name", processes.ENTRY_POINTS)
def test_single_entry_point(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text(MAIN)
    (tmp_path / "helpers.py").write_text(MAIN)
    default = processes.default_web(tmp_path, prefix(tmp_path))
    assert default.command == f"python {name}"


def test_entry_point_must_be_a_script(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("app = Flask(__name__)\n")
    default = processes.default_web(tmp_path, prefix(tmp_path))
    assert default.command is None
    assert "none of app.py, main.py, server.py is a script" in default.reason


def test_two_entry_points_are_ambiguous(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(MAIN)
    (tmp_path / "main.py").write_text(MAIN)
    default = processes.default_web(tmp_path, prefix(tmp_path))
    assert default.command is None
    assert default.reason == "app.py and main.py could each be the entry point"


def install(slug: Path, *packages: str, files: tuple[str, ...] = ()) -> None:
    site = prefix(slug) / "lib" / "python3.13" / "site-packages"
    for package in packages:
        (site / package).mkdir(parents=True, exist_ok=True)
        (site / package / "__init__.py").write_text("")
    for name in files:
        (site / name).write_text("")


@pytest.mark.parametrize("packages, gunicorn, command", [
    (("flask",), True, "gunicorn app:app"),
    (("fastapi", "uvicorn"), True, "gunicorn -k uvicorn.workers.UvicornWorker app:app"),
    (("fastapi", "uvicorn", "uvicorn_worker"), True, "gunicorn -k uvicorn_worker.UvicornWorker app:app"),
    (("starlette", "uvicorn"), False, "uvicorn app:app --host 0.0.0.0 --port $PORT"),
    (("fastapi",), True, None),  # no uvicorn: gunicorn alone cannot serve ASGI
    (("flask",), False, None),
])
def test_framework_app_object(tmp_path: Path, packages, gunicorn, command) -> None:
    cls = {"flask": "Flask(__name__)", "fastapi": "fastapi.FastAPI(title='x')",
           "starlette": "Starlette(routes=[])"}[packages[0]]
    (tmp_path / "app.py").write_text(f"import fastapi\n\napp = {cls}\n")
    install(tmp_path, *packages, files=("uvicorn/workers.py",) if "uvicorn" in packages else ())
    if gunicorn:
        install_gunicorn(tmp_path)
    default = processes.default_web(tmp_path, prefix(tmp_path))
    assert default.command == command
    assert "app.py creates the" in default.reason
    if command is None:
        assert "not in its requirements; with it, the default is" in default.reason


def test_framework_in_a_package_module(tmp_path: Path) -> None:
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "__init__.py").write_text("")
    (tmp_path / "api" / "main.py").write_text("application: FastAPI = FastAPI()\n")
    (tmp_path / "test_api.py").write_text("app = FastAPI()\n")  # tests are not the app
    install(tmp_path, "fastapi", "uvicorn")
    default = processes.default_web(tmp_path, prefix(tmp_path))
    assert default.command == "uvicorn api.main:application --host 0.0.0.0 --port $PORT"
    assert default.reason == ("api/main.py creates the FastAPI app `application` (ASGI), and "
                              "uvicorn is installed")


def test_two_web_apps_are_a_tie(tmp_path: Path) -> None:
    (tmp_path / "site.py").write_text("app = Flask(__name__)\n")
    (tmp_path / "api.py").write_text("api = FastAPI()\n" + MAIN)
    install(tmp_path, "flask", "fastapi", "uvicorn")
    install_gunicorn(tmp_path)
    default = processes.default_web(tmp_path, prefix(tmp_path))
    assert default.command is None
    assert default.reason == ("api.py creates the FastAPI app `api` and site.py creates the Flask "
                              "app `app`: the buildpack does not guess which one to serve")


def test_framework_without_server_falls_back_to_its_script(tmp_path: Path) -> None:
    (tmp_path / "server.py").write_text("app = Flask(__name__)\n" + MAIN)
    install(tmp_path, "flask")
    default = processes.default_web(tmp_path, prefix(tmp_path))
    assert default.command == "python server.py"
    assert "gunicorn is not in its requirements" in default.reason


def test_framework_not_installed_is_not_an_app(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("app = Flask(__name__)\n")
    (tmp_path / "main.py").write_text(MAIN)
    install_gunicorn(tmp_path)
    assert processes.default_web(tmp_path, prefix(tmp_path)).command == "python main.py"


def test_module_link_outside_the_app_is_not_read(tmp_path: Path) -> None:
    outside = tmp_path / "outside.py"
    outside.write_text("app = Flask(__name__)\n")
    app = tmp_path / "app"
    app.mkdir()
    (app / "web.py").symlink_to(outside)
    install(app, "flask")
    install_gunicorn(app)
    assert processes.default_web(app, prefix(app)).command is None


# --- which Procfile -------------------------------------------------------------------

def test_read_prefers_the_root_procfile(tmp_path: Path) -> None:
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "Procfile").write_text("web: python server.py\n")
    assert processes.read(tmp_path, "api").declared == {"web": "python server.py"}
    assert processes.read(tmp_path, "").declared is None
    (tmp_path / "Procfile").write_text("worker: python w.py\n")
    assert processes.read(tmp_path, "api").declared == {"worker": "python w.py"}


def test_read_validates_the_app_folders_procfile(tmp_path: Path) -> None:
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "Procfile").write_text("web gunicorn\n")
    with raises_id("procfile::missing-colon"):
        processes.read(tmp_path, "api")


# --- the compile log ------------------------------------------------------------------

def log_discovery(build_dir: Path, base: str) -> None:
    """What compile logs: the Procfiles parsed once (as at plan time), then the step."""
    files = AppFiles(build_dir)
    processes.log_discovery(processes.read(files, base), files, prefix(build_dir))


def test_log_default(tmp_path: Path, capsys) -> None:
    log_discovery(django_app(tmp_path), "")
    captured = capsys.readouterr()
    assert captured.out == (
        "-----> Discovering process types\n"
        "       No Procfile\n"
        "       Default types for buildpack-python -> web\n"
        "       web: gunicorn mysite.wsgi\n"
        "       (Django app (mysite/wsgi.py) with gunicorn installed.)\n"
        "       This is a default: add a Procfile to choose the command yourself.\n")
    assert captured.err == ""


def test_log_no_default_warns(tmp_path: Path, capsys) -> None:
    log_discovery(django_app(tmp_path, gunicorn=False), "")
    err = capsys.readouterr().err
    assert " !     Warning: No Procfile found." in err
    assert "gunicorn is not in its requirements" in err


def test_log_app_folder_procfile(tmp_path: Path, capsys) -> None:
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "Procfile").write_text("web: python server.py\nworker: python w.py\n")
    log_discovery(tmp_path, "api")
    captured = capsys.readouterr()
    assert "Procfile declares types -> web, worker (api/Procfile)" in captured.out
    assert captured.err == ""


def test_log_two_procfiles_and_a_stale_cd(tmp_path: Path, capsys) -> None:
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "Procfile").write_text("web: python server.py\n")
    (tmp_path / "Procfile").write_text("web: cd api && python server.py\n")
    log_discovery(tmp_path, "api")
    captured = capsys.readouterr()
    assert "Procfile declares types -> web\n" in captured.out
    assert "Warning: Two Procfiles: the one at the repository root is used." in captured.err
    assert "Warning: The Procfile changes into api/ although processes already start there." \
        in captured.err


def test_discovery_and_launch_types_use_the_parsed_procfiles(tmp_path: Path, capsys) -> None:
    # The plan's Procfiles, with none on disk: nothing is read or parsed again.
    procfiles = processes.Procfiles(None, {"web": "python server.py"}, "api")
    files = AppFiles(tmp_path)
    processes.log_discovery(procfiles, files, prefix(tmp_path))
    assert "Procfile declares types -> web (api/Procfile)" in capsys.readouterr().out
    assert processes.release_types(procfiles, files, prefix(tmp_path)) == {"web": "python server.py"}


# --- the real bin/release -------------------------------------------------------------

def release(slug: Path) -> dict:
    result = subprocess.run([str(ROOT / "bin" / "release"), str(slug)], capture_output=True,
                            text=True, timeout=30, env=os.environ.copy())
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)["default_process_types"]


def test_release_django_default(tmp_path: Path) -> None:
    assert release(django_app(tmp_path)) == {"web": "gunicorn mysite.wsgi"}


def test_release_entry_point_default(tmp_path: Path) -> None:
    (tmp_path / "server.py").write_text(MAIN)
    assert release(tmp_path) == {"web": "python server.py"}


def test_release_procfile_wins_over_a_default(tmp_path: Path) -> None:
    django_app(tmp_path)
    (tmp_path / "Procfile").write_text("web: gunicorn mysite.wsgi --workers 2\n")
    assert release(tmp_path) == {"web": "gunicorn mysite.wsgi --workers 2"}


def test_release_reads_the_recorded_app_folder(tmp_path: Path) -> None:
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "Procfile").write_text("web: python server.py\n")
    assert release(tmp_path) == {}
    app_base.record(tmp_path, "api")
    assert release(tmp_path) == {"web": "python server.py"}


def test_release_default_in_the_recorded_app_folder(tmp_path: Path) -> None:
    django_app(tmp_path / "backend")
    install_gunicorn(tmp_path)
    app_base.record(tmp_path, "backend")
    assert release(tmp_path) == {"web": "gunicorn mysite.wsgi"}


def test_crlf_or_bom_procfile_is_read_with_a_warning(tmp_path, capsys):
    from buildpack.app import processes

    (tmp_path / "Procfile").write_bytes(b"\xef\xbb\xbfweb: python app.py\r\n")
    assert processes.read(tmp_path, "").declared == {"web": "python app.py"}
    processes.warn_line_endings(tmp_path)
    assert "Warning: The Procfile has Windows line endings or a byte-order mark" in capsys.readouterr().err


def test_lf_procfile_reads_without_warning(tmp_path, capsys):
    from buildpack.app import processes

    (tmp_path / "Procfile").write_text("web: python app.py\n")
    assert processes.read(tmp_path, "").declared == {"web": "python app.py"}
    processes.warn_line_endings(tmp_path)
    assert capsys.readouterr().err == ""


# --- bin/test: which command runs the tests (buildpack.commands.test) --------------------------

def test_test_command_rules(tmp_path: Path) -> None:
    from buildpack.commands import test as test_run

    slug = prefix(tmp_path)
    command, why = test_run.test_command(tmp_path, slug)
    assert command == ["python", "-m", "unittest", "discover"] and "unittest" in why
    django_app(tmp_path, "src", gunicorn=False)
    install(tmp_path, "django")
    assert test_run.test_command(tmp_path, slug)[0] == ["python", "src/manage.py", "test"]
    install(tmp_path, "pytest")
    assert test_run.test_command(tmp_path, slug) == (["python", "-m", "pytest"],
                                                     "pytest is installed")
