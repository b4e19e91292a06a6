"""Apps written for the leading buildpack (issue 13): the hook contract, legacy switches
and data, guard-rails. Each app is built for real; apps with a web process are moved,
started as the platform starts them, and asked over HTTP."""
from __future__ import annotations

import shutil

import pytest

from buildpack.base import platform_info
from tests import support

pytestmark = pytest.mark.slow


def serve(slug, command: str) -> str:
    port = support.free_port()
    proc = support.RunningProcess(slug, command, port)
    try:
        return support.wait_for_http(f"http://127.0.0.1:{port}/", proc.proc)
    finally:
        proc.stop()


# --- hooks: BUILD_DIR, CACHE_DIR, ENV_DIR, STACK ---------------------------------------

def test_hooks_written_for_the_leader_get_its_variables(tmp_path, build_env):
    cache = tmp_path / "cache"
    env_dir = support.config_dir(tmp_path / "env", GREETING="Hello")
    env = build_env  # STACK unset: the stack the build derived (the store's) is exported
    stack = platform_info.current_stack({})
    first = support.copy_fixture("hooks-app", tmp_path / "first")
    result = support.compile_app(first, cache, env, env_dir)
    assert result.returncode == 0, result.log
    assert f"       pre_compile sees STACK={stack}\n" in result.stdout
    assert "builds before this one" not in result.stdout
    assert "       post_compile wrote build-info.txt\n" in result.stdout
    # The next build of the app sees what the hook kept in CACHE_DIR.
    app = support.copy_fixture("hooks-app", tmp_path / "build")
    result = support.compile_app(app, cache, env, env_dir)
    assert result.returncode == 0, result.log
    assert "       pre_compile: builds before this one: 1\n" in result.stdout
    slug = support.move_slug(app, tmp_path)
    assert serve(slug, "gunicorn app:app") == f"Hello from a build on {stack} (2 builds cached)\n"


# --- legacy switches -----------------------------------------------------------------------

def test_collectstatic_disabled_file_is_honoured_with_a_deprecation(tmp_path, build_env):
    app = support.copy_fixture("django-app", tmp_path / "build")
    (app / ".heroku").mkdir()
    (app / ".heroku" / "collectstatic_disabled").write_text("")
    result = support.compile_app(app, tmp_path / "cache", build_env)
    assert result.returncode == 0, result.log
    assert "       Skipped: .heroku/collectstatic_disabled exists.\n" in result.stdout
    assert " !     Warning: .heroku/collectstatic_disabled is deprecated." in result.stderr
    assert "DISABLE_COLLECTSTATIC=1" in result.stderr
    assert not (app / "staticfiles").exists()
    slug = support.move_slug(app, tmp_path)
    assert serve(slug, "gunicorn mysite.wsgi") == "Hello from Django on buildpack-python!\n"


# --- guard-rails ---------------------------------------------------------------------------

def test_committed_venv_fails_before_any_work(tmp_path, build_env):
    app = support.copy_fixture("flask-app", tmp_path)
    venv = app / ".venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /Users/dev/.pyenv/versions/3.13.0/bin\n")
    result = support.compile_app(app, tmp_path / "cache", build_env)
    assert result.returncode == 1, result.log
    assert "(error id: app::committed-venv)" in result.stderr
    assert "git rm -r --cached .venv" in result.stderr
    assert "Preparing Python runtime" not in result.stdout
    assert not (app / ".heroku").exists()


def test_committed_heroku_python_is_a_visible_warning(tmp_path, build_env):
    app = support.copy_fixture("flask-app", tmp_path / "build")
    stale = app / ".heroku" / "python" / "bin"
    stale.mkdir(parents=True)
    (stale / "python3").write_text("#!/bin/sh\necho stale\n")
    result = support.compile_app(app, tmp_path / "cache", build_env)
    assert result.returncode == 0, result.log
    assert " !     Warning: The app contains .heroku/python, which this build replaces." \
        in result.stderr
    slug = support.move_slug(app, tmp_path)
    assert serve(slug, "python server.py") == "Hello from Python on buildpack-python!\n"


@pytest.mark.parametrize("files", [
    {"pyproject.toml": "", "app.py": "print('hi')\n"},
    {"pyproject.toml": "[tool.black]\nline-length = 99\n"},
    {"setup.py": "# nothing here yet\n"},
])
def test_project_file_declaring_nothing_is_an_error(tmp_path, build_env, files):
    app = tmp_path / "app"
    app.mkdir()
    for name, text in files.items():
        (app / name).write_text(text)
    result = support.compile_app(app, tmp_path / "cache", build_env)
    assert result.returncode == 1, result.log
    assert "(error id: dependencies::no-project-metadata)" in result.stderr
    assert "no dependency files" not in result.log.lower()
    assert not (app / ".heroku").exists()


# --- start-command inference ------------------------------------------------------------

@pytest.mark.parametrize("fixture, command, why, body", [
    ("fastapi-app", "gunicorn -k uvicorn_worker.UvicornWorker main:app",
     "main.py creates the FastAPI app `app` (ASGI), and gunicorn and uvicorn are installed: "
     "uvicorn workers under gunicorn",
     "Hello from FastAPI on buildpack-python!\n"),
    ("starlette-app", "uvicorn web:app --host 0.0.0.0 --port $PORT",
     "web.py creates the Starlette app `app` (ASGI), and uvicorn is installed",
     "Hello from Starlette on buildpack-python!\n"),
    ("gunicorn-app", "gunicorn app:app",
     "app.py creates the Flask app `app`, and gunicorn is installed", None),
])
def test_inferred_web_process_starts_and_answers(tmp_path, build_env, fixture, command, why, body):
    app = support.copy_fixture(fixture, tmp_path / "build")
    (app / "Procfile").unlink(missing_ok=True)
    result = support.compile_app(app, tmp_path / "cache", build_env)
    assert result.returncode == 0, result.log
    assert ("       Default types for buildpack-python -> web\n"
            f"       web: {command}\n"
            f"       ({why}.)\n"
            "       This is a default: add a Procfile to choose the command yourself.\n"
            ) in result.stdout
    slug = support.move_slug(app, tmp_path)
    types = support.release_types(slug)
    assert types == {"web": command}
    answer = serve(slug, types["web"])
    if body is None:  # gunicorn-app reports the Python it runs on
        assert f'"prefix":"{slug}/.heroku/python"' in answer.replace(" ", "")
    else:
        assert answer == body


def test_two_web_apps_tie_and_nothing_is_guessed(tmp_path, build_env):
    app = support.copy_fixture("gunicorn-app", tmp_path)
    (app / "Procfile").unlink()
    (app / "admin.py").write_text("from flask import Flask\n\nadmin = Flask(__name__)\n")
    result = support.compile_app(app, tmp_path / "cache", build_env)
    assert result.returncode == 0, result.log
    assert " !     Warning: No Procfile found." in result.stderr
    assert ("admin.py creates the Flask app `admin` and app.py creates the Flask app `app`: "
            "the buildpack does not guess") in result.stderr.replace("\n !     ", " ")
    assert support.release_types(app) == {}


# --- nltk.txt ----------------------------------------------------------------------------

@pytest.fixture
def nltk_mirror(tmp_path):
    mirror = support.NltkMirror(tmp_path / "nltk-index")
    yield mirror
    mirror.stop()


def test_nltk_txt_data_is_downloaded_into_the_slug(tmp_path, build_env, nltk_mirror):
    app = support.copy_fixture("nltk-app", tmp_path / "build")
    env_dir = support.config_dir(tmp_path / "env", **nltk_mirror.config)
    result = support.compile_app(app, tmp_path / "cache", build_env, env_dir)
    assert result.returncode == 0, result.log
    assert "-----> Downloading NLTK data (nltk.txt)\n" in result.stdout
    assert "       tinycorpus into /app/.heroku/python/nltk_data (index: NLTK_DOWNLOAD_URL)\n" \
        in result.stdout
    assert nltk_mirror.index.counts.get("/packages/corpora/tinycorpus.zip") == 1
    assert (app / ".heroku/python/nltk_data/corpora/tinycorpus/words").is_file()
    slug = support.move_slug(app, tmp_path)
    assert serve(slug, "gunicorn app:app") == "hello\nfrom\nnltk\n"


def test_nltk_txt_data_of_a_warm_build_is_checked_and_kept(tmp_path, build_env, nltk_mirror):
    """A warm build runs NLTK's downloader over the data the cached environment holds.
    NLTK refuses a data file with a second hardlink (its pathsec check): the save must not
    link the data before the downloader ran."""
    env_dir = support.config_dir(tmp_path / "env", **nltk_mirror.config)
    for build in ("cold", "warm", "warm-again"):
        app = support.copy_fixture("nltk-app", tmp_path / build)
        result = support.compile_app(app, tmp_path / "cache", build_env, env_dir)
        assert result.returncode == 0, result.log
        assert (app / ".heroku/python/nltk_data/corpora/tinycorpus/words").is_file()
        shutil.rmtree(app)  # as a platform drops the build folder: no second link left
    assert nltk_mirror.index.counts.get("/packages/corpora/tinycorpus.zip") == 1


def test_nltk_txt_unknown_id_fails_the_build(tmp_path, build_env, nltk_mirror):
    app = support.copy_fixture("nltk-app", tmp_path)
    (app / "nltk.txt").write_text("tinycorpus\nno-such-corpus\n")
    env_dir = support.config_dir(tmp_path / "env", **nltk_mirror.config)
    result = support.compile_app(app, tmp_path / "cache", build_env, env_dir)
    assert result.returncode == 1, result.log
    assert "Package 'no-such-corpus' not found in index" in result.stdout
    assert "(error id: nltk::download-failed)" in result.stderr
    assert not (app / ".heroku").exists()


def test_nltk_txt_invalid_entry_fails_before_any_work(tmp_path, build_env):
    app = support.copy_fixture("nltk-app", tmp_path)
    (app / "nltk.txt").write_text("punkt\n../../etc/passwd\n")
    result = support.compile_app(app, tmp_path / "cache", build_env)
    assert result.returncode == 1, result.log
    assert "(error id: nltk::invalid-entry)" in result.stderr
    assert "nltk.txt line 2" in result.stderr
    assert "Preparing Python runtime" not in result.stdout


def test_nltk_txt_without_nltk_is_skipped_with_a_line(tmp_path, build_env):
    app = support.copy_fixture("flask-app", tmp_path)
    (app / "nltk.txt").write_text("punkt\n")
    result = support.compile_app(app, tmp_path / "cache", build_env)
    assert result.returncode == 0, result.log
    assert "       Skipped: nltk.txt is there, but nltk is not installed." in result.stdout
    assert not (app / ".heroku/python/nltk_data").exists()
    assert "NLTK_DATA" not in (app / ".profile.d/python.sh").read_text()
