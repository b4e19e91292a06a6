"""The pure parts of the installers: which manager, Python constraints, masking, cleanup."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from buildpack import installers
from buildpack.app.app_files import AppFiles
from buildpack.base import libraries, output, toml_io
from buildpack.base.redact import mask_values, url_secrets
from buildpack.installers import failures, managers, python_check, slug_cleanup
from buildpack.installers.record import Choice
from buildpack.installers.subprocess_env import INSTALLER_ALLOWLIST, build_env
from buildpack.python_version.python_constraints import satisfies
from buildpack.runtime import relocate
from tests.support import raises_id, write_app

PROJECT = '[project]\nname = "app"\nversion = "1"\n'


def _app(tmp_path: Path, files: dict[str, str]) -> Path:
    return write_app(tmp_path, dict(files))


def _files(choice: Choice) -> AppFiles:
    """The reader of the app ``choice`` was made for."""
    return AppFiles(choice.files[0].parent)


def _choice(tmp_path, files):
    app = _app(tmp_path, files)
    choice = installers.choose(app)
    return choice.manager.name, [p.name for p in choice.files], choice.installs_app


# --- which package manager -------------------------------------------------------------

@pytest.mark.parametrize("files, expected", [
    ({"requirements.txt": "six\n"}, ("pip", ["requirements.txt"], False)),
    ({"requirements.txt": "six\n", "pyproject.toml": PROJECT}, ("pip", ["requirements.txt"], False)),
    ({"Pipfile": "", "Pipfile.lock": "{}"}, ("pipenv", ["Pipfile", "Pipfile.lock"], False)),
    ({"pyproject.toml": PROJECT, "poetry.lock": ""}, ("poetry", ["pyproject.toml", "poetry.lock"], False)),
    ({"pyproject.toml": PROJECT, "uv.lock": ""}, ("uv", ["pyproject.toml", "uv.lock"], False)),
    ({"pyproject.toml": PROJECT, "pdm.lock": ""}, ("pdm", ["pyproject.toml", "pdm.lock"], False)),
    ({"pyproject.toml": PROJECT}, ("pip", ["pyproject.toml"], True)),
    ({"pyproject.toml": '[build-system]\nrequires = ["setuptools"]\n'}, ("pip", ["pyproject.toml"], True)),
    ({"setup.py": "from setuptools import setup\nsetup()\n", "setup.cfg": "[metadata]\nname=a\n"},
     ("pip", ["setup.py", "setup.cfg"], True)),
    ({"setup.py": "", "setup.cfg": "[metadata]\nname = a\n"}, ("pip", ["setup.cfg"], True)),
    ({"setup.py": "import setuptools\nsetuptools.setup(name='a')\n", "pyproject.toml": "[tool.black]\n"},
     ("pip", ["setup.py"], True)),
    ({"app.py": ""}, ("none", [], False)),
    # TOML as TOML: an inline or dotted [project] table declares the project...
    ({"pyproject.toml": 'project = { name = "app", version = "1" }\n'}, ("pip", ["pyproject.toml"], True)),
    ({"pyproject.toml": 'build-system.requires = ["setuptools"]\n'}, ("pip", ["pyproject.toml"], True)),
    ({"pyproject.toml": 'tool.poetry.name = "x"\n', "poetry.lock": ""},
     ("poetry", ["pyproject.toml", "poetry.lock"], False)),
])
def test_choice(tmp_path, files, expected):
    assert _choice(tmp_path, files) == expected


@pytest.mark.parametrize("files, named", [
    ({"pyproject.toml": ""}, "pyproject.toml has no [project] table"),
    ({"pyproject.toml": "[tool.black]\nline-length = 99\n"}, "holds only tool settings"),
    ({"setup.py": "# setup(name='x') is commented out\n"}, "setup.py never calls setup(...)"),
    ({"setup.py": "", "setup.cfg": "", "pyproject.toml": "[tool.ruff]\n"}, "no [metadata] or [options]"),
])
def test_project_files_that_declare_nothing_are_an_error(tmp_path, files, named):
    with raises_id("dependencies::no-project-metadata") as err:
        installers.choose(_app(tmp_path, files))
    assert named in err.value.body and "[project]" in err.value.body


def test_messages_without_a_lock_file_name_every_records_lock(tmp_path, monkeypatch, capsys):
    """A new manager's record is named by the "declares nothing" error and the "no
    dependency files" log without editing either text."""
    import dataclasses

    hatch = dataclasses.replace(managers.UV, name="hatch", display="Hatch", lockfile="hatch.lock")
    monkeypatch.setitem(managers.BY_LOCKFILE, "hatch.lock", hatch)
    with raises_id("dependencies::no-project-metadata") as err:
        installers.choose(_app(tmp_path, {"pyproject.toml": "[tool.black]\n"}))
    installers.install(Choice(managers.NO_DEPENDENCIES), None)  # type: ignore[arg-type]
    log = " ".join(capsys.readouterr().out.split())
    for record in managers.BY_LOCKFILE.values():
        assert record.lockfile in err.value.body and record.lockfile in log
        if record.manifest:
            assert record.display in err.value.body
    for name in managers.PROJECT_FILES:
        assert name in log


@pytest.mark.parametrize("names", [
    ("requirements.txt", "poetry.lock"),
    ("Pipfile.lock", "uv.lock"),
    ("requirements.txt", "Pipfile.lock", "poetry.lock", "uv.lock"),
])
def test_several_lockfiles_are_an_error_naming_them(tmp_path, names):
    files = {name: "" for name in names}
    files.update({"pyproject.toml": PROJECT, "Pipfile": ""})
    with raises_id("package-manager::multiple-lock-files") as err:
        _choice(tmp_path, files)
    for name in names:
        assert f"  - {name} (" in err.value.body
    assert "git rm" in err.value.body


@pytest.mark.parametrize("files, summary, command", [
    ({"Pipfile": "[packages]\n"}, "Pipfile was found without Pipfile.lock", "pipenv lock"),
    ({"pyproject.toml": PROJECT + "[tool.poetry]\npackage-mode = false\n"},
     "pyproject.toml was found without poetry.lock", "poetry lock"),
    ({"pyproject.toml": "[tool.poetry.dependencies]\npython = '^3.11'\n"},
     "pyproject.toml was found without poetry.lock", "poetry lock"),
])
def test_missing_lock_says_how_to_make_it(tmp_path, files, summary, command):
    with raises_id("package-manager::manifest-without-lock") as err:
        _choice(tmp_path, files)
    assert err.value.summary == summary
    assert f"Run `{command}`" in err.value.body


def test_a_table_header_inside_a_string_declares_nothing(tmp_path):
    text = '[tool.notes]\ntext = """\n[project]\nname = "x"\n"""\n'
    with raises_id("dependencies::no-project-metadata"):
        installers.choose(_app(tmp_path, {"pyproject.toml": text}))


def test_pyproject_that_is_not_toml_is_an_error_when_choosing(tmp_path):
    with raises_id("toml::invalid"):
        installers.choose(_app(tmp_path, {"pyproject.toml": "[project\n"}))


@pytest.mark.parametrize("files, error_id", [
    ({"pyproject.toml": PROJECT}, None),
    ({"pyproject.toml": PROJECT + "[tool.poetry]\npackage-mode = false\n"},
     "package-manager::manifest-without-lock"),
    ({"pyproject.toml": "[tool.black]\nline-length = 99\n"}, "dependencies::no-project-metadata"),
])
def test_without_a_toml_parser_yet_the_choice_is_confirmed_after_the_runtime(
        tmp_path, monkeypatch, files, error_id):
    """A host before 3.11 with no copy of the libraries: pyproject.toml is taken to declare
    the project, and ``confirm`` (once the runtime brought the libraries) raises what
    choosing would have."""
    from buildpack.installers import manager_files

    app = _app(tmp_path, files)
    with monkeypatch.context() as patched:
        patched.setattr(toml_io, "available", lambda: False)
        choice = installers.choose(app)
    assert (choice.manager, choice.installs_app) == (managers.PIP, True)
    if error_id is None:
        manager_files.confirm(choice, AppFiles(app))
    else:
        with raises_id(error_id):
            manager_files.confirm(choice, AppFiles(app))


@pytest.mark.parametrize("files, summary", [
    ({"Pipfile.lock": "{}"}, "Pipfile.lock was found without Pipfile"),
    ({"poetry.lock": ""}, "poetry.lock was found without pyproject.toml"),
    ({"uv.lock": ""}, "uv.lock was found without pyproject.toml"),
])
def test_lock_without_manifest(tmp_path, files, summary):
    with raises_id("package-manager::lock-without-manifest") as err:
        _choice(tmp_path, files)
    assert err.value.summary == summary


def test_lockfile_that_is_a_directory(tmp_path):
    app = _app(tmp_path, {"pyproject.toml": PROJECT})
    (app / "uv.lock").mkdir()
    with raises_id("app-file::not-regular"):
        installers.choose(app)


@pytest.mark.parametrize("line", ["-r ../outside.txt\n", '--requirem "../outside.txt"\n',
                                  "--constr=/etc/outside.txt\n"])
def test_includes_outside_the_app_are_refused_at_plan_time(tmp_path, line):
    """The one parsing of requirements the cache design keeps: a guard (pip and uv read
    the rest themselves)."""
    with raises_id("requirements::include-outside"):
        installers.choose(_app(tmp_path, {"requirements.txt": line}))


# --- Python constraints ----------------------------------------------------------------

@pytest.mark.parametrize("spec, version, poetry, expected", [
    (">=3.11", (3, 13, 0), False, True),
    (">=3.11,<3.13", (3, 13, 0), False, False),
    (">=3.11, <3.13", (3, 12, 7), False, True),
    (">= 3.11", (3, 10, 9), False, False),
    ("==3.12.*", (3, 12, 1), False, True),
    ("==3.12.*", (3, 13, 0), False, False),
    ("!=3.12.*", (3, 13, 0), False, True),
    ("==3.12", (3, 12, 0), False, True),
    ("==3.12", (3, 12, 1), False, False),
    ("~=3.11", (3, 13, 0), False, True),
    ("~=3.11", (4, 0, 0), False, False),
    ("~=3.11.2", (3, 11, 7), False, True),
    ("~=3.11.2", (3, 12, 0), False, False),
    ("!=3.12.1", (3, 12, 1), False, False),
    (">3.12", (3, 12, 0), False, False),
    (">=3.13.0rc1", (3, 13, 0), False, True),
    ("^3.11", (3, 13, 0), True, True),
    ("^3.11", (4, 0, 0), True, False),
    ("~3.11", (3, 11, 9), True, True),
    ("~3.11", (3, 12, 0), True, False),
    ("3.11", (3, 11, 4), True, True),
    ("3.11", (3, 12, 0), True, False),
    (">=3.9 <3.12", (3, 13, 0), True, False),
    ("^3.8 || ^4.0", (3, 13, 0), True, True),
    ("*", (3, 13, 0), True, True),
])
def test_satisfies(spec, version, poetry, expected):
    assert satisfies(spec, version, poetry=poetry) is expected


@pytest.mark.parametrize("spec, poetry", [("^3.11", False), ("python3", False), ("", False),
                                          ("<=3.*", False), (">=3.11 and <4", True)])
def test_constraints_not_understood(spec, poetry):
    assert satisfies(spec, (3, 13, 0), poetry=poetry) is None


def _lock(python: dict[str, str]) -> str:
    return json.dumps({"_meta": {"hash": {"sha256": "x"}, "requires": python}, "default": {}})


@pytest.mark.parametrize("files, version, where", [
    ({"pyproject.toml": PROJECT + 'requires-python = ">=3.14"\n', "uv.lock": ""}, "3.13.0",
     "pyproject.toml ([project] requires-python)"),
    ({"pyproject.toml": PROJECT + 'requires-python = "<3.12"\n'}, "3.13.0",
     "pyproject.toml ([project] requires-python)"),
    ({"pyproject.toml": '[tool.poetry.dependencies]\npython = "~3.11"\n', "poetry.lock": ""},
     "3.13.0", "pyproject.toml ([tool.poetry.dependencies] python)"),
    ({"Pipfile": "", "Pipfile.lock": _lock({"python_version": "3.12"})}, "3.13.0",
     "Pipfile.lock (_meta.requires.python_version)"),
    ({"Pipfile": "", "Pipfile.lock": _lock({"python_full_version": "3.13.1"})}, "3.13.0",
     "Pipfile.lock (_meta.requires.python_full_version)"),
])
def test_version_contradiction_shows_both_values(tmp_path, files, version, where):
    choice = installers.choose(_app(tmp_path, files))
    with raises_id("python-version::conflicts-with-project") as err:
        python_check.check(choice, _files(choice), version)
    assert err.value.summary == f"Python {version} does not satisfy {where}"
    assert f"This build uses Python {version}" in err.value.body
    spec = {"uv": ">=3.14", "pip": "<3.12", "poetry": "~3.11"}.get(choice.manager.name)
    assert repr(spec or json.loads(files["Pipfile.lock"])["_meta"]["requires"].popitem()[1]) \
        in err.value.body


@pytest.mark.parametrize("files", [
    {"pyproject.toml": PROJECT + 'requires-python = ">=3.11"\n', "uv.lock": ""},
    {"pyproject.toml": PROJECT, "poetry.lock": ""},
    # only Poetry's record reads that table
    {"pyproject.toml": PROJECT + '[tool.poetry.dependencies]\npython = "~3.11"\n', "uv.lock": ""},
    {"pyproject.toml": 'tool = "not a table"\n' + PROJECT, "poetry.lock": ""},
    {"Pipfile": "", "Pipfile.lock": _lock({"python_version": "3.13"})},
    {"Pipfile": "", "Pipfile.lock": _lock({})},
    {"requirements.txt": ""},
])
def test_version_agrees(tmp_path, files):
    choice = installers.choose(_app(tmp_path, files))
    python_check.check(choice, _files(choice), "3.13.0")


def test_constraint_not_understood_warns(tmp_path, capsys):
    choice = installers.choose(_app(tmp_path, {"pyproject.toml": PROJECT + 'requires-python = "3"\n'}))
    python_check.check(choice, _files(choice), "3.13.0")
    assert "Warning: Could not check the Python version against pyproject.toml" in capsys.readouterr().err


def test_invalid_toml_is_a_clear_error(tmp_path):
    choice = installers.choose(_app(tmp_path, {"pyproject.toml": PROJECT + "requires-python = \n",
                                               "uv.lock": ""}))
    with raises_id("toml::invalid"):
        python_check.check(choice, _files(choice), "3.13.0")


def test_toml_io_parse():
    text = PROJECT + 'requires-python = ">=3.11"\n[tool.x]\nwhen = 1979-05-27\n'
    assert toml_io.parse(text, "pyproject.toml")["project"]["requires-python"] == ">=3.11"
    with raises_id("toml::invalid") as err:
        toml_io.parse("[project\n", "pyproject.toml")
    assert err.value.summary == "pyproject.toml is not valid TOML"


def test_without_the_libraries_the_check_waits_for_the_runtime(tmp_path, monkeypatch):
    choice = installers.choose(_app(tmp_path, {"pyproject.toml": PROJECT + 'requires-python = ">=3.14"\n',
                                               "uv.lock": ""}))
    monkeypatch.setattr(libraries, "_ready", False)
    # No bundle, no cached copy, no index of the build's own: deferred, nothing raised now.
    assert not libraries.ensure(tmp_path / "cache", None)
    installers.check_python(choice, _files(choice), "3.13.0")
    monkeypatch.setattr(libraries, "_ready", True)
    with raises_id("python-version::conflicts-with-project"):
        installers.check_python(choice, _files(choice), "3.13.0")


def test_pipfile_lock_that_is_not_json(tmp_path):
    choice = installers.choose(_app(tmp_path, {"Pipfile": "", "Pipfile.lock": "<<<<<<< HEAD\n"}))
    with raises_id("pipenv::lock-invalid-json"):
        python_check.check(choice, _files(choice), "3.13.0")


# --- credentials and the environment -------------------------------------------------------

def test_url_secrets_and_masking():
    env = {"PIP_INDEX_URL": "https://deploy:s3cr%40t@pypi.example.test/simple/",
           "UV_INDEX": "https://tok3nvalue@idx.example.test/simple", "PATH": "/usr/bin"}
    secrets = url_secrets(env.values())
    assert {"s3cr%40t", "s3cr@t", "tok3nvalue"} <= set(secrets)
    assert mask_values("auth failed for s3cr@t and tok3nvalue", secrets) == \
        "auth failed for **** and ****"


def test_allowlist_passes_installer_settings_and_nothing_else(tmp_path):
    config = {
        "PIP_INDEX_URL": "https://u:p@idx.example.test/simple/",
        "UV_INDEX_PRIVATE_USERNAME": "u", "UV_INDEX_PRIVATE_PASSWORD": "p",
        "POETRY_HTTP_BASIC_CORP_USERNAME": "u", "POETRY_HTTP_BASIC_CORP_PASSWORD": "p",
        "POETRY_REPOSITORIES_CORP_URL": "https://idx.example.test/simple/",
        "UV_INDEX_URL": "https://idx.example.test/simple/",
        "LD_PRELOAD": "/tmp/evil.so", "PYTHONHOME": "/nowhere", "PYTHONPATH": "/x",
        "UV_PYTHON_DOWNLOADS": "automatic", "POETRY_VIRTUALENVS_CREATE": "true",
        "PIP_TARGET": "/tmp/elsewhere", "DATABASE_URL": "postgres://u:p@db/x",
    }
    env = build_env({"PATH": "/usr/bin", "HOME": "/root", "LD_PRELOAD": "/x.so"}, config,
                    tmp_path / "python" / "bin", tmp_path / "cache")
    for name in ("PIP_INDEX_URL", "UV_INDEX_PRIVATE_USERNAME", "UV_INDEX_PRIVATE_PASSWORD",
                 "POETRY_HTTP_BASIC_CORP_PASSWORD", "POETRY_REPOSITORIES_CORP_URL", "UV_INDEX_URL"):
        assert env[name] == config[name]
    for name in ("LD_PRELOAD", "PYTHONHOME", "PYTHONPATH", "UV_PYTHON_DOWNLOADS",
                 "POETRY_VIRTUALENVS_CREATE", "PIP_TARGET", "DATABASE_URL"):
        assert name not in env
    assert env["PIP_SRC"] == str(tmp_path / "python" / "src")
    assert "UV_INDEX_PRIVATE_PASSWORD" in INSTALLER_ALLOWLIST
    assert "UV_INDEX_PASSWORD" not in INSTALLER_ALLOWLIST


@pytest.mark.parametrize("line, error_id", [
    ("ERROR: 401 Client Error: Unauthorized for url: http://u:****@127.0.0.1:1/simple/six/",
     "package-index::credentials-refused"),
    ("  × Failed to fetch: `http://127.0.0.1:9/simple/six/`\n  ╰─▶ HTTP status client error "
     "(401 Unauthorized) for url", "package-index::credentials-refused"),
    ("WARNING: Retrying ... 'NewConnectionError(... Failed to establish a new connection: "
     "[Errno 111] Connection refused')'", "package-index::unreachable"),
    ("error: Request failed after 3 retries\n  Caused by: tcp connect error",
     "package-index::unreachable"),
    ("ERROR: THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE.",
     "package-index::hash-mismatch"),
    ("ERROR: No matching distribution found for nothing-here", None),
])
def test_failure_causes(line, error_id):
    found = failures.explain([line + "\n"])
    assert (found[2] if found else None) == error_id


# --- references to the build dir ------------------------------------------------------------

def test_build_paths_are_removed_from_site_packages(tmp_path):
    build = tmp_path / "build_1234"
    prefix = build / ".heroku" / "python"
    site = prefix / "lib" / "python3.13" / "site-packages"
    (site / "__pycache__").mkdir(parents=True)
    (site / "__pycache__" / "six.cpython-313.pyc").write_bytes(str(build).encode())
    (build / "src" / "mypkg").mkdir(parents=True)
    (build / "src" / "mypkg" / "__init__.py").write_text("VALUE = 42\n")
    (build / "flat" / "flatpkg").mkdir(parents=True)
    (build / "flat" / "flatpkg" / "__init__.py").write_text("VALUE = 7\n")
    (site / "mypkg.pth").write_text(f"{build}/src\n")
    (site / "__editable__.flatpkg-1.pth").write_text(
        "import __editable___flatpkg_1_finder; __editable___flatpkg_1_finder.install()")
    (site / "__editable___flatpkg_1_finder.py").write_text(  # as setuptools writes them
        "import sys\nfrom importlib.util import spec_from_file_location\n"
        f"MAPPING: dict[str, str] = {{'flatpkg': '{build}/flat/flatpkg'}}\n"
        f"NAMESPACES: dict[str, list[str]] = {{'ns': [\"{build}/flat/ns\"]}}\n"
        "class _Finder:\n"
        "    @classmethod\n"
        "    def find_spec(cls, name, path=None, target=None):\n"
        "        if name in MAPPING:\n"
        "            return spec_from_file_location(name, MAPPING[name] + '/__init__.py')\n"
        "def install():\n"
        "    sys.meta_path.append(_Finder)\n")
    info = site / "mypkg-1.dist-info"
    info.mkdir()
    (info / "direct_url.json").write_text(json.dumps({"url": f"file://{build}",
                                                      "dir_info": {"editable": True}}))
    (info / "RECORD").write_text(f"{site}/mypkg.pth,sha256=x,40\n{site}/mypkg-1.dist-info/RECORD,,\n"
                                 "../../../bin/tool,sha256=y,9\n")
    (site / "old.egg-link").write_text(f"{build}/flat\n.")

    slug_cleanup.fix_build_paths(prefix, build, Path(sys.executable), {"PATH": "/usr/bin:/bin"})
    # The finder that .pth imports is compiled already, before any other interpreter runs.
    finder_pyc = next((site / "__pycache__").glob("__editable___flatpkg_1_finder.*.pyc"))
    relocate.compile_bytecode(Path(sys.executable), [site], prefix, {"PATH": "/usr/bin:/bin"})

    leftover = subprocess.run(["grep", "-rl", str(build), str(prefix)], capture_output=True,
                              text=True).stdout
    assert leftover == ""
    # The installer's bytecode is gone (the build's bytecode pass); the finder's is kept.
    assert list((site / "__pycache__").iterdir()) == [finder_pyc]
    assert (site / "mypkg.pth").read_text() == "../../../../../src\n"
    assert json.loads((info / "direct_url.json").read_text())["url"] == "file:///app"
    assert (site / "old.egg-link").read_text() == "/app/flat\n."
    assert (info / "RECORD").read_text() == ("mypkg.pth,sha256=x,40\nmypkg-1.dist-info/RECORD,,\n"
                                             "../../../bin/tool,sha256=y,9\n")
    # Move the slug: the relative .pth and the rewritten finder still find the code.
    moved = tmp_path / "elsewhere" / "app"
    moved.parent.mkdir()
    build.rename(moved)
    moved_site = moved / ".heroku/python/lib/python3.13/site-packages"
    code = ("import site, sys; site.addsitedir(sys.argv[1]); import mypkg, flatpkg; "
            "print(mypkg.VALUE, flatpkg.VALUE)")
    out = subprocess.run([sys.executable, "-I", "-c", code, str(moved_site)],
                         capture_output=True, text=True)
    assert out.stdout.split() == ["42", "7"], out.stderr
    finder = (moved_site / "__editable___flatpkg_1_finder.py").read_text()
    assert "os').path.dirname(__file__), '../../../../../flat/ns')" in finder


def test_build_leftovers_of_the_install_are_removed(tmp_path):
    app = _app(tmp_path, {})
    (app / "build").mkdir()
    before = slug_cleanup.build_leftovers(app)
    (app / "app.egg-info").mkdir()
    (app / "src").mkdir()
    (app / "src" / "pkg.egg-info").mkdir()
    (app / "libs" / "local" / "build" / "lib").mkdir(parents=True)
    (app / ".heroku" / "python" / "build").mkdir(parents=True)
    slug_cleanup.remove_new_leftovers(app, before)
    assert sorted(str(p.relative_to(app)) for p in app.rglob("*")) == [
        ".heroku", ".heroku/python", ".heroku/python/build", "build", "libs", "libs/local", "src"]


def test_no_dependency_files_log(tmp_path, capsys):
    installers.install(Choice(managers.NO_DEPENDENCIES), None)  # type: ignore[arg-type]
    out = capsys.readouterr().out
    assert out.startswith(output.STEP_PREFIX + "Installing dependencies\n")
    assert "no dependencies to install" in out


def test_index_urls_from_settings():
    env = {"PIP_INDEX_URL": "https://a.example.test/simple/",
           "PIP_EXTRA_INDEX_URL": "https://b.example.test/simple/ file:///wheels",
           "UV_INDEX": "private=https://u:p@c.example.test/simple/ https://d.example.test/simple/"}
    assert failures.index_urls(env) == [
        "https://a.example.test/simple/", "https://b.example.test/simple/",
        "https://u:p@c.example.test/simple/", "https://d.example.test/simple/"]


def test_probe_tells_refused_credentials_and_unreachable_indexes():
    import base64
    import http.server
    import threading

    good = "Basic " + base64.b64encode(b"deploy:right").decode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200 if self.headers.get("Authorization") == good else 401)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    port = server.server_address[1]
    try:
        assert failures.probe(f"http://deploy:right@127.0.0.1:{port}/simple/") is None
        refused = failures.probe(f"http://deploy:wr%40ng@127.0.0.1:{port}/simple/")
        assert refused[0] == "The package index refused the credentials"
        assert f"http://deploy:****@127.0.0.1:{port}/simple/" in refused[1]
        assert "wr%40ng" not in refused[1] and "wr@ng" not in refused[1]
    finally:
        server.shutdown()
        server.server_close()
    unreachable = failures.explain(["ERROR: No matching distribution found for six\n"],
                                   {"PIP_INDEX_URL": f"http://127.0.0.1:{port}/simple/"})
    assert unreachable[0] == "The package index could not be reached"


# --- failure hints (every engine's output) -----------------------------------------------

@pytest.mark.parametrize("output, named, package", [
    ("  Building wheel for psycopg2 (pyproject.toml): started\n"
     "      Error: pg_config executable not found.\n", "PostgreSQL client library", "psycopg2-binary"),
    ("  × Failed to build `mysqlclient==2.2.7`\n      /bin/sh: 1: mysql_config: not found\n",
     "MySQL/MariaDB client library", "default-libmysqlclient-dev"),
    ("      Exception: Can not find valid pkg-config name.\n", "MySQL/MariaDB", "pkg-config"),
    ("      /bin/sh: 1: gdal-config: not found\n", "GDAL", "libgdal-dev"),
    ("      src/x.c:1:10: fatal error: sqlite3.h: No such file or directory\n", "SQLite",
     "libsqlite3-dev"),
    ("      Please make sure the libxml2 and libxslt development packages are installed.\n",
     "libxml2 and libxslt", "libxml2-dev"),
    ("      x.c:3:10: fatal error: yaml.h: No such file or directory\n",
     "the library that provides yaml.h", "install the package that provides it"),
])
def test_missing_system_library_hint(output, named, package):
    cause = failures.explain(output.splitlines(keepends=True))
    assert cause is not None and cause[2] == "dependencies::missing-system-library"
    assert named in cause[0] and package in cause[1]


def test_missing_library_names_the_package_being_built():
    cause = failures.explain(["  Building wheel for psycopg2 (pyproject.toml): started\n",
                              "      Error: pg_config executable not found.\n"])
    assert cause is not None and "A package (psycopg2) was built from source" in cause[1]


def test_invalid_legacy_metadata_hint():
    lines = ["WARNING: Ignoring version 5.2.0 of celery since it has invalid metadata:\n",
             "    pytz>dev\n", "Please use pip<24.1 if you need to use this version.\n"]
    cause = failures.explain(lines)
    assert cause is not None and cause[2] == "dependencies::invalid-legacy-metadata"
    assert cause[0] == "celery 5.2.0 has metadata that current pip rejects"


@pytest.mark.parametrize("line", [
    "ERROR: Failed to build 'file://{app}' when getting requirements to build wheel\n",
    "  × Failed to build `app @ file://{app}`\n",
])
def test_app_build_failure_is_told_apart(tmp_path, line):
    app = tmp_path / "app"
    app.mkdir()
    (app / "setup.py").write_text("")
    lines = ["FileNotFoundError: settings.json\n", line.format(app=app)]
    cause = failures.explain(lines, None, app)
    assert cause is not None and cause[2] == "dependencies::app-build-failed"
    assert cause[0] == "the app's own setup.py failed"
    other = ["ERROR: Failed to build 'file:///elsewhere/lib' when building wheel\n"]
    assert failures.explain(other, None, app) is None


@pytest.mark.parametrize("files, needed", [
    ({"pyproject.toml": PROJECT}, True),
    ({"pyproject.toml": PROJECT, "uv.lock": ""}, True),
    ({"Pipfile": "", "Pipfile.lock": "{}"}, True),
    ({"requirements.txt": "six\n", "pyproject.toml": "[tool.black]\n"}, True),  # requires-python
    ({"requirements.txt": "six\n"}, False),
])
def test_the_libraries_are_loaded_before_choosing_when_a_file_needs_them(tmp_path, files, needed):
    assert installers.needs_libraries(AppFiles(_app(tmp_path, files))) is needed
