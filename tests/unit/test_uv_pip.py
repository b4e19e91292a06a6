"""The engine behind requirements.txt: uv by default, pip by choice or by necessity."""
from __future__ import annotations

import pytest

from buildpack import installers
from buildpack.app.app_files import AppFiles
from buildpack.base.output import BuildError
from buildpack.installers import managers, uv_pip


def _app(tmp_path, text, **others):
    (tmp_path / "requirements.txt").write_text(text)
    for name, content in others.items():
        (tmp_path / name).write_text(content)
    return tmp_path


def test_uv_is_the_default(tmp_path):
    choice = installers.choose(_app(tmp_path, "Flask==3.1.3\n"))
    assert choice.manager is managers.PIP_WITH_UV and choice.engine_reason == ""
    assert (choice.manager.name, choice.manager.engine) == ("pip", "uv")


@pytest.mark.parametrize("value", ["pip", "PIP", " pip "])
def test_pip_by_choice(tmp_path, value):
    choice = installers.choose(_app(tmp_path, "Flask==3.1.3\n"), installer=value)
    assert choice.manager.engine == "pip"
    assert choice.engine_reason == "PYTHON_INSTALLER=pip: installing with pip."


@pytest.mark.parametrize("value", ["poetry", "uv2", "pip install"])
def test_unknown_engine_lists_the_choices(tmp_path, value):
    with pytest.raises(BuildError) as err:
        installers.choose(_app(tmp_path, "Flask==3.1.3\n"), installer=value)
    assert err.value.error_id == "python-installer::unknown"
    assert repr(value) in err.value.summary
    assert "  uv   (the default)" in err.value.body and "  pip  " in err.value.body


def test_unknown_engine_fails_for_other_managers_too(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\nversion = '1'\n")
    with pytest.raises(BuildError) as err:
        installers.choose(tmp_path, installer="conda")
    assert err.value.error_id == "python-installer::unknown"
    assert installers.choose(tmp_path, installer="pip").manager is managers.PIP  # pip install .


@pytest.mark.parametrize(("text", "feature"), [
    ("six==1.17.0 --requirem base.txt\n", "--requirem (requirements.txt line 1)"),
    ("--pypi-url http://127.0.0.1:9/simple/\nsix\n", "--pypi-url (requirements.txt line 1)"),
    ("six --hash=sha256:" + "0" * 64 + "\n--no-require-hashes\n",
     "--no-require-hashes (requirements.txt line 2)"),
    ("--only-final :all:\nsix\n", "--only-final (requirements.txt line 1)"),
    ("six==1.17.0 \\\n    --config-settings=a=b\n", "--config-settings (requirements.txt line 1)"),
    ("Flask\n--pre\n", "--pre (requirements.txt line 2)"),
    ("--prefer-binary\nsix\n", "--prefer-binary (requirements.txt line 1)"),
    ("--trusted-host example.invalid\nsix\n", "--trusted-host (requirements.txt line 1)"),
    ("--use-feature=truststore\nsix\n", "--use-feature (requirements.txt line 1)"),
    ("-e git+https://example.invalid/x.git#egg=x\n",
     "an editable VCS requirement (-e git+...) (requirements.txt line 1)"),
])
def test_pip_only_features_fall_back_to_pip(tmp_path, text, feature):
    choice = installers.choose(_app(tmp_path, text))
    assert choice.manager.engine == "pip"
    assert choice.engine_reason == (f"{feature} is a pip feature that uv does not support: "
                                    "installing with pip instead.")


def test_pip_only_feature_in_an_included_file(tmp_path):
    app = _app(tmp_path, "-r base.txt\n", **{"base.txt": "six\n--pre\n"})
    assert uv_pip.pip_only_feature(AppFiles(app), app / "requirements.txt") == "--pre (base.txt line 2)"


@pytest.mark.parametrize("text", [
    "six==1.17.0 --hash=sha256:" + "0" * 64 + "\n",
    "--require-hashes\n--index-url http://127.0.0.1/simple/\n-f vendor\n--no-index\nsix\n",
    "# --pre in a comment\nsix  # --global-option in a comment\n",
    "-e ./libs/x\n./libs/y\ngitpkg @ git+https://example.invalid/g.git\n",
    "predictable-name==1.0\n",  # a name that starts like an option is not one
])
def test_what_uv_installs_itself(tmp_path, text):
    assert installers.choose(_app(tmp_path, text)).manager.engine == "uv"


def test_pip_settings_become_uv_settings():
    env = {"PIP_INDEX_URL": "https://u:p@idx.invalid/simple/",
           "PIP_EXTRA_INDEX_URL": "https://a.invalid/simple/  https://b.invalid/simple/",
           "PIP_FIND_LINKS": "/w1 /w2", "PIP_TRUSTED_HOST": "a.invalid",
           "PIP_DEFAULT_TIMEOUT": "30", "PIP_RETRIES": "2", "PIP_CERT": "/ca.pem"}
    assert uv_pip.uv_settings(env) == {
        "UV_DEFAULT_INDEX": "https://u:p@idx.invalid/simple/",
        "UV_EXTRA_INDEX_URL": "https://a.invalid/simple/ https://b.invalid/simple/",
        "UV_FIND_LINKS": "/w1,/w2", "UV_INSECURE_HOST": "a.invalid", "UV_HTTP_TIMEOUT": "30",
        "UV_HTTP_RETRIES": "2", "SSL_CERT_FILE": "/ca.pem"}


def test_uv_own_settings_win():
    env = {"PIP_INDEX_URL": "https://pip.invalid/simple/", "UV_INDEX_URL": "https://uv.invalid/",
           "PIP_RETRIES": "5", "UV_HTTP_RETRIES": "1"}
    assert uv_pip.uv_settings(env) == {}


def test_command_line_only_settings():
    assert uv_pip.uv_arguments({}) == []
    assert uv_pip.uv_arguments({"PIP_NO_INDEX": "true", "PIP_NO_BINARY": "lxml,psycopg",
                                "PIP_ONLY_BINARY": ":all:"}) == [
        "--no-index", "--no-binary", "lxml", "--no-binary", "psycopg", "--only-binary", ":all:"]
    assert uv_pip.uv_arguments({"PIP_NO_INDEX": "0"}) == []


@pytest.mark.parametrize(("filename", "fits"), [
    ("uv-0.13.9-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", True),
    ("uv-0.13.9-py3-none-manylinux_2_28_x86_64.whl", True),
    ("uv-0.13.9-py3-none-manylinux_2_40_x86_64.whl", False),  # newer glibc than the host
    ("uv-0.13.9-py3-none-manylinux_2_17_aarch64.manylinux2014_aarch64.whl", False),
    ("uv-0.13.9-py3-none-musllinux_1_1_x86_64.whl", False),
    ("uv-0.13.9-py3-none-win_amd64.whl", False),
    ("uv-0.13.9.tar.gz", False),
])
def test_uv_wheel_for_this_machine(filename, fits):
    from buildpack.installers import uv_fetch

    assert uv_fetch.fits_this_machine(filename, (2, 36), "x86_64") is fits
    assert uv_fetch.fits_this_machine(filename, None, "x86_64") is False  # not glibc: use pip


def test_uv_pins_every_platform():
    from buildpack.installers import pinned_tools, uv_fetch

    hashes = uv_fetch.pinned_hashes(pinned_tools.TOOLS["uv"].requirements)
    assert len(hashes) >= 10 and all(len(h) == 64 for h in hashes)


def test_bytecode_is_current_only_for_its_source(tmp_path):
    import compileall
    import py_compile

    from buildpack.runtime import bytecode_worker

    source = tmp_path / "mod.py"
    source.write_text("VALUE = 1\n")
    assert not bytecode_worker.is_current(str(source))
    compileall.compile_file(str(source), quiet=2, force=True,
                            invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP)
    assert not bytecode_worker.is_current(str(source))  # a timestamp pyc is rewritten
    compileall.compile_file(str(source), quiet=2, force=True,
                            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    assert bytecode_worker.is_current(str(source))
    source.write_text("VALUE = 2\n")  # an upgrade changed the source: the pyc is stale
    assert not bytecode_worker.is_current(str(source))


@pytest.mark.parametrize("text, names", [
    ("Flask==3.1.3\n", False),
    ("pip==24.0\n", True),
    ("PIP>=24 ; python_version >= '3.9'\n", True),
    ("pip\n", True),
    ("pip-tools==7.4\npipx\n", False),
    ("-r base.txt\n", True),
])
def test_names_pip(tmp_path, text, names):
    app = _app(tmp_path, text, **{"base.txt": "pip[foo]==24\n"})
    assert uv_pip.names_pip(AppFiles(app, app), app / "requirements.txt") is names


@pytest.fixture
def uv_index(tmp_path):
    """A loopback index whose uv wheel answers as ``answer["mode"]`` says: "trickle" (a
    byte every 50 ms for 10 s) or "large" (4096 bytes)."""
    import http.server
    import platform
    import threading
    import time

    from buildpack.installers import pinned_tools

    wheel = (f"uv-{pinned_tools.TOOLS['uv'].version()}-py3-none-"
             f"manylinux_2_17_{platform.machine()}.whl")
    answer = {"mode": "trickle", "wheel_requests": 0}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the base class's name
            self.send_response(200)
            self.end_headers()
            try:
                if self.path == "/simple/uv/":
                    self.wfile.write(f'<a href="/files/{wheel}">{wheel}</a>'.encode())
                    return
                answer["wheel_requests"] += 1
                if answer["mode"] == "large":
                    self.wfile.write(bytes(4096))
                else:
                    for _ in range(200):
                        self.wfile.write(b"x")
                        self.wfile.flush()
                        time.sleep(0.05)
            except OSError:
                pass  # the client gave up

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/simple/", answer
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("mode", ["trickle", "large"])
def test_uv_download_past_its_limits_stops_the_build(tmp_path, monkeypatch, uv_index, mode):
    import time

    from buildpack.installers import pinned_tools, uv_fetch

    assert uv_fetch.host_glibc() is not None, "uv_fetch serves glibc hosts only"
    url, answer = uv_index
    answer["mode"] = mode
    monkeypatch.setattr(uv_fetch, "DEADLINE", 0.5)
    monkeypatch.setattr(uv_fetch, "MAX_WHEEL", 1000)
    tool = pinned_tools.TOOLS["uv"]
    started = time.monotonic()
    with pytest.raises(BuildError) as err:
        uv_fetch.fetch(tool.version(), tool.requirements, {"PIP_INDEX_URL": url}, tmp_path / "uv")
    assert err.value.error_id == "package-manager::tool-download-limit"
    assert time.monotonic() - started < 5  # the server would trickle for 10 s
    assert not (tmp_path / "uv" / ".wheel").exists()


def _uv_context(tmp_path, index_url):
    import sys
    from pathlib import Path

    from buildpack.installers.context import InstallContext

    env = {"PATH": "/usr/bin:/bin", "PIP_INDEX_URL": index_url}
    return InstallContext(tmp_path, tmp_path / "prefix", Path(sys.executable), env,
                          tmp_path / "cache", [], "", AppFiles(tmp_path), slug_root=tmp_path)


def test_a_prefetch_past_its_limit_is_the_builds_error_and_not_retried(tmp_path, monkeypatch,
                                                                        uv_index):
    """The download that ran past its deadline while the runtime unpacked stops the build
    with its id; the build does not download uv a second time."""
    import time

    from buildpack.installers import uv_fetch

    url, answer = uv_index
    monkeypatch.setattr(uv_fetch, "DEADLINE", 0.5)
    ctx = _uv_context(tmp_path, url)
    started = time.monotonic()
    with pytest.raises(BuildError) as err:
        with uv_pip.prefetching(ctx, tmp_path / "requirements.txt"):
            pass
        uv_pip.ensure_uv(ctx, [])
    assert err.value.error_id == "package-manager::tool-download-limit"
    assert answer["wheel_requests"] == 1
    assert time.monotonic() - started < 5  # the server would trickle for 10 s


def test_a_prefetch_that_does_not_finish_stops_the_build(tmp_path, monkeypatch, uv_index):
    """A fetch stuck where no read deadline reaches (name resolution) is waited for up to
    the limit of the page and the wheel, then stops the build: no second download beside it."""
    import threading

    from buildpack.installers import pinned_tools, uv_fetch

    url, _ = uv_index
    release = threading.Event()
    monkeypatch.setattr(uv_fetch, "DEADLINE", 0.2)
    monkeypatch.setattr(uv_fetch, "TIMEOUT", 0.1)
    monkeypatch.setattr(pinned_tools, "prefetch", lambda ctx, tool: release.wait(10))
    try:
        with pytest.raises(BuildError) as err:
            with uv_pip.prefetching(_uv_context(tmp_path, url), tmp_path / "requirements.txt"):
                pass
    finally:
        release.set()
    assert err.value.error_id == "package-manager::tool-download-limit"
    assert "within 1 s" in err.value.body
