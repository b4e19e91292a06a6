"""The buildpack under the CNB lifecycle's contract (tests/integration/cnb/lifecycle.py): real builds
into layers, rebuilds that reuse them, processes started as the launcher starts them."""
from __future__ import annotations

import json
import subprocess
import time
import urllib.request

import pytest

from buildpack.cache import env_cache
from buildpack.cnb import build as cnb_build
from tests import support
from tests.integration.cnb.lifecycle import BASE_PATH, Lifecycle

pytestmark = pytest.mark.slow


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return resp.read().decode()


def serve(lifecycle: Lifecycle, path: str = ""):
    """Start ``web`` and return (its first answer, the process); the caller stops it."""
    port = support.free_port()
    process = lifecycle.launch("web", port)
    try:
        return support.wait_for_http(f"http://127.0.0.1:{port}/{path}", process.proc), process, port
    except BaseException:
        process.stop()
        raise


def pip_list(python) -> dict[str, str]:
    """Canonical name -> version, as pip sees the installed environment."""
    out = subprocess.run([str(python), "-m", "pip", "list", "--format=json"],
                         capture_output=True, text=True, check=True, env={"PATH": "/usr/bin:/bin"})
    return {item["name"].lower().replace("_", "-").replace(".", "-"): item["version"]
            for item in json.loads(out.stdout)}


def test_seed_app_builds_into_layers_and_answers(tmp_path, runtime_store, package_index):
    lifecycle = Lifecycle(tmp_path, {"PYTHON_RUNTIME_STORE": str(runtime_store),
                                     "PIP_INDEX_URL": package_index.url})
    lifecycle.source(support.FIXTURES / "flask-app")
    result = lifecycle.build()
    assert result.returncode == 0, result.log
    minor = support.expected_default_minor()
    default = support.store_versions()[minor]
    assert (f"-----> No Python version specified; using the default, Python {minor} "
            f"(python-{default})") in result.stdout
    assert "-----> Installing dependencies using uv (0.13.9)" in result.stdout
    assert "Procfile declares types -> web" in result.stdout
    tomls = lifecycle.layer_tomls()
    assert {name: doc["types"] for name, doc in tomls.items()} == {
        "cache": {"launch": False, "build": False, "cache": True},
        "python": {"launch": True, "build": True, "cache": True},
        "python-env": {"launch": True, "build": False, "cache": False},
    }
    assert tomls["python"]["metadata"]["python_version"] == default
    assert tomls["python"]["metadata"]["manager"] == "pip"
    assert lifecycle.launch_toml() == {"processes": [
        {"type": "web", "command": ["bash", "-c", "python server.py"], "default": True}]}
    assert not (lifecycle.app / ".heroku").exists()  # Python lives in its layer, not the app

    # The SBOM: the runtime, and every distribution the layer's Python has, with its version.
    python = lifecycle.layers / "python" / "bin" / "python3"
    sbom = json.loads((lifecycle.layers / "python.sbom.cdx.json").read_text())
    runtime, *libraries = sbom["components"]
    assert (runtime["name"], runtime["version"]) == ("cpython", default)
    listed = {c["purl"].split("/")[1].split("@")[0]: c["version"] for c in libraries}
    assert listed == pip_list(python)
    assert {"flask", "werkzeug", "pip"} <= set(listed)

    body, process, _ = serve(lifecycle)
    process.stop()
    assert body == "Hello from Python on buildpack-python!\n"


def test_rebuild_reuses_the_layers_without_downloading(tmp_path, runtime_store, package_index):
    store = support.CountingStoreServer(runtime_store)
    try:
        lifecycle = Lifecycle(tmp_path, {"PYTHON_RUNTIME_STORE": store.url,
                                         "PIP_INDEX_URL": package_index.url})
        lifecycle.source(support.FIXTURES / "gunicorn-app")
        first = lifecycle.build()
        assert first.returncode == 0, first.log
        assert "Downloading python-3.11.7" in first.stdout
        metadata = lifecycle.layer_tomls()["python"]["metadata"]
        interpreter = lifecycle.layers / "python" / "bin" / "python3.11"
        inode = interpreter.stat().st_ino

        lifecycle.prepare_rebuild()
        lifecycle.source(support.FIXTURES / "gunicorn-app")
        second = lifecycle.build()
        assert second.returncode == 0, second.log
        assert "The python layer of the previous build: the package manager" in second.stdout
        assert "Downloading" not in second.stdout and "Installing pip" not in second.stdout
        assert "Installing dependencies using uv" in second.stdout  # uv decides: nothing to do
        assert lifecycle.layer_tomls()["python"]["metadata"] == metadata
        assert interpreter.stat().st_ino == inode  # the same files: nothing was reinstalled
        body, process, _ = serve(lifecycle)
        process.stop()
        info = json.loads(body)
        assert info["python_version"] == "3.11.7"
        assert info["prefix"] == str(lifecycle.layers / "python")

        # A dependency file changes: the layer is brought up to date in place.
        lifecycle.prepare_rebuild()
        app = lifecycle.source(support.FIXTURES / "gunicorn-app")
        (app / "requirements.txt").write_text("Flask==3.1.3\ngunicorn==25.3.0\nblinker\n")
        third = lifecycle.build()
        assert third.returncode == 0, third.log
        assert "The python layer of the previous build: the package manager" in third.stdout
        assert "Downloading" not in third.stdout and "Installing pip" not in third.stdout
        assert "Installing dependencies using uv" in third.stdout  # blinker: Flask has it already
        assert interpreter.stat().st_ino == inode
        assert lifecycle.layer_tomls()["python"]["metadata"] == metadata  # no dependency files
        archives = {path: n for path, n in store.counts.items() if path.endswith(".tar.xz")}
    finally:
        store.stop()
    assert list(archives.values()) == [1], store.counts


PROBE = """\
import importlib
import importlib.metadata
import sys

for name in sys.argv[1:]:
    try:
        print(name, importlib.metadata.version(name), importlib.import_module(name).__name__)
    except ImportError:
        print(name, "missing")
"""


def probe(lifecycle: Lifecycle) -> str:
    """What the ``probe`` process (started as the launcher does) can import."""
    process = lifecycle.launch("probe", support.free_port())
    try:
        assert process.proc.wait(timeout=60) == 0, process.output()
    finally:
        process.stop()
    return process.output()


def test_changed_requirements_update_the_python_layer_in_place(tmp_path, runtime_store,
                                                               package_index):
    """Only the difference is applied to the cached python layer (as classic does with
    its restored environment): an added package imports at launch, a removed one is gone,
    and a failed update leaves no metadata that claims a key."""
    lifecycle = Lifecycle(tmp_path, {"PYTHON_RUNTIME_STORE": str(runtime_store),
                                     "PIP_INDEX_URL": package_index.url})
    layer = lifecycle.layers / "python"

    def build(requirements: str):
        if lifecycle.layers.is_dir():
            lifecycle.prepare_rebuild()
        app = lifecycle.source(support.FIXTURES / "flask-app")
        (app / "requirements.txt").write_text(requirements)
        (app / "probe.py").write_text(PROBE)
        with (app / "Procfile").open("a") as procfile:
            procfile.write("probe: python probe.py idna six\n")
        return lifecycle.build()

    first = build("Flask==3.1.3\nsix==1.17.0\n")
    assert first.returncode == 0, first.log
    metadata = lifecycle.layer_tomls()["python"]["metadata"]
    inode = (layer / "bin" / "python3").stat().st_ino
    assert "idna missing" in probe(lifecycle)

    added = build("Flask==3.1.3\nsix==1.17.0\nidna==3.20\n")
    assert added.returncode == 0, added.log
    assert "The python layer of the previous build: the package manager" in added.stdout
    assert "        + idna==3.20" in added.stdout
    assert "+ flask" not in added.stdout and "Installing pip" not in added.stdout
    assert "Downloading python" not in added.stdout  # the runtime was not provisioned
    assert (layer / "bin" / "python3").stat().st_ino == inode
    updated = lifecycle.layer_tomls()["python"]
    assert updated["types"] == {"launch": True, "build": True, "cache": True}
    assert updated["metadata"] == metadata
    imported = probe(lifecycle)
    assert "idna 3.20 idna" in imported and "six 1.17.0 six" in imported

    removed = build("Flask==3.1.3\nidna==3.20\n")
    assert removed.returncode == 0, removed.log
    assert "The python layer of the previous build: the package manager" in removed.stdout
    assert "        - six==1.17.0" in removed.stdout
    imported = probe(lifecycle)
    assert "six missing" in imported and "idna 3.20 idna" in imported
    site = next(layer.glob("lib/python3*/site-packages"))
    assert not list(site.glob("six*")) and not list(site.glob("__pycache__/six*"))
    sbom = (lifecycle.layers / "python.sbom.cdx.json").read_text()
    assert "pkg:pypi/six@" not in sbom and "pkg:pypi/idna@3.20" in sbom

    # A failed update: the layer was changed in place, so no metadata may describe it.
    failed = build("Flask==3.1.3\nidna==3.20\nno-such-package-anywhere==1.0\n")
    assert failed.returncode != 0, failed.log
    assert "(error id: python-installer::uv-install-failed)" in failed.stderr
    assert "The python layer of the previous build: the package manager" in failed.stdout
    assert "python" not in lifecycle.layer_tomls()


def test_django_app_with_the_launch_environment(tmp_path, runtime_store, package_index):
    lifecycle = Lifecycle(tmp_path, {"PYTHON_RUNTIME_STORE": str(runtime_store),
                                     "PIP_INDEX_URL": package_index.url})
    lifecycle.source(support.FIXTURES / "django-app")
    result = lifecycle.build()
    assert result.returncode == 0, result.log
    assert "1 static file copied to" in result.stdout
    assert "       web: gunicorn mysite.wsgi\n" in result.stdout
    assert lifecycle.launch_toml()["processes"] == [
        {"type": "web", "command": ["bash", "-c", "gunicorn mysite.wsgi"], "default": True}]
    body, process, port = serve(lifecycle)
    try:
        url = f"http://127.0.0.1:{port}/"
        assert body == "Hello from Django on buildpack-python!\n"
        assert get(url + "static/hello.css") == "body { color: #336; }\n"
        info = json.loads(get(url + "runtime"))
        expected_workers = lifecycle.launch_env("web", port)["WEB_CONCURRENCY"]  # exec.d
        deadline = time.monotonic() + 15
        while process.output().count("Booting worker") < int(expected_workers) \
                and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        process.stop()
    assert info["cwd"] == str(lifecycle.app)
    assert info["prefix"] == str(lifecycle.layers / "python")
    assert info["env"] == {"WEB_CONCURRENCY": expected_workers, "FORWARDED_ALLOW_IPS": "*",
                           "GUNICORN_CMD_ARGS": "--access-logfile -", "PYTHONHOME": None,
                           "LD_LIBRARY_PATH": str(lifecycle.layers / "python" / "lib"),
                           "PYTHONUNBUFFERED": "true", "LANG": "C.UTF-8"}
    assert int(expected_workers) >= 1
    assert process.output().count("Booting worker") == int(expected_workers)


def test_subfolder_app_with_hooks_runs_in_its_folder(tmp_path, runtime_store, package_index):
    lifecycle = Lifecycle(tmp_path, {"PYTHON_RUNTIME_STORE": str(runtime_store),
                                     "PIP_INDEX_URL": package_index.url,
                                     "APP_BASE": "api", "GREETING": "hello from config"})
    lifecycle.source(support.FIXTURES / "monorepo-app")
    result = lifecycle.build()
    assert result.returncode == 0, result.log
    assert "-----> Building the app in api/ (APP_BASE)" in result.stdout
    assert "-----> Running the pre_compile hook (api/bin/pre_compile)" in result.stdout
    [web] = lifecycle.launch_toml()["processes"]
    assert web["working-dir"] == str(lifecycle.app / "api")
    body, process, _ = serve(lifecycle)
    process.stop()
    info = json.loads(body)
    assert info["cwd"] == str(lifecycle.app / "api")
    assert info["hooks"][0] == "pre_compile: GREETING=hello from config"
    assert info["hooks"][-1] == "post_compile: GREETING=hello from config"


def test_layer_metadata_is_the_classic_cache_key(tmp_path, runtime_store, package_index):
    """The key a classic build stores in CACHE_DIR/env is the python layer's metadata."""
    settings = {"PYTHON_RUNTIME_STORE": str(runtime_store), "PIP_INDEX_URL": package_index.url}
    env = {"PATH": BASE_PATH, "HOME": str(tmp_path), **settings}  # what the lifecycle passes
    classic = support.copy_fixture("gunicorn-app", tmp_path / "classic")
    assert support.compile_app(classic, tmp_path / "cache", env).returncode == 0
    stored = json.loads((tmp_path / "cache" / env_cache.ENV_DIR_NAME / "metadata.json").read_text())
    lifecycle = Lifecycle(tmp_path / "cnb", settings)
    lifecycle.source(support.FIXTURES / "gunicorn-app")
    assert lifecycle.build().returncode == 0
    key = env_cache.CacheKey(**stored["key"])
    assert lifecycle.layer_tomls()["python"]["metadata"] == cnb_build.key_metadata(key)


def test_nltk_data_goes_into_the_python_layer(tmp_path, runtime_store, package_index):
    """nltk.txt under CNB: the corpus lands in the python layer, where the app's NLTK finds it
    at launch (its default search path includes ``sys.prefix/nltk_data``)."""
    mirror = support.NltkMirror(tmp_path / "nltk-index")
    try:
        lifecycle = Lifecycle(tmp_path / "cnb", {"PYTHON_RUNTIME_STORE": str(runtime_store),
                                                 "PIP_INDEX_URL": package_index.url, **mirror.config})
        lifecycle.source(support.FIXTURES / "nltk-app")
        result = lifecycle.build()
        assert result.returncode == 0, result.log
        layer = lifecycle.layers / "python"
        assert f"       tinycorpus into {layer}/nltk_data (index: NLTK_DOWNLOAD_URL)\n" in result.stdout
        assert mirror.index.counts.get("/packages/corpora/tinycorpus.zip") == 1
        assert (layer / "nltk_data/corpora/tinycorpus/words").is_file()
        assert not (lifecycle.app / ".heroku").exists()
    finally:
        mirror.stop()
    body, process, _ = serve(lifecycle)
    process.stop()
    assert body == "hello\nfrom\nnltk\n"


def test_a_procfile_written_by_post_compile_reaches_launch_toml(tmp_path, runtime_store, package_index):
    """launch.toml is CNB's bin/release: like it, it reads the Procfile the build left."""
    lifecycle = Lifecycle(tmp_path, {"PYTHON_RUNTIME_STORE": str(runtime_store),
                                     "PIP_INDEX_URL": package_index.url})
    app = lifecycle.source(support.FIXTURES / "flask-app")
    hook = app / "bin" / "post_compile"
    hook.parent.mkdir(exist_ok=True)
    hook.write_text("#!/bin/sh\nprintf 'worker: python -c pass\\n' >> Procfile\n")
    hook.chmod(0o755)
    result = lifecycle.build()
    assert result.returncode == 0, result.log
    assert "Procfile declares types -> web\n" in result.stdout  # the log shows the pushed Procfile
    assert [p["type"] for p in lifecycle.launch_toml()["processes"]] == ["web", "worker"]
