"""The Cloud Native Buildpacks side's pieces (buildpack/cnb): where the lifecycle puts
things, the descriptor, launch.toml, layer metadata through the lifecycle, the SBOM, exec.d."""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

from buildpack.app.app_files import AppFiles
from buildpack.app_build import sbom
from buildpack.base import libraries, settings, toml_io
from buildpack.cache import env_cache
from buildpack.cnb import build as cnb_build
from buildpack.cnb import context, launch, launch_env
from buildpack.cnb.layers import Layers, LayerTypes
from buildpack.commands import cnb_detect as detect
from buildpack.installers import InstallContext
from buildpack.runtime.manifest import RuntimeEntry
from tests import support
from tests.support import raises_id

# --- where things are -------------------------------------------------------------------

def test_paths_from_variables_or_positional_arguments(tmp_path):
    environ = {"CNB_PLATFORM_DIR": "/p", "CNB_BUILD_PLAN_PATH": "/plan"}
    assert context.DetectArgs.from_environment(environ, ["/old", "/args"]) == context.DetectArgs(
        Path("/p"), Path("/plan"))  # the variables win
    # Buildpack API < 0.8: bin/detect PLATFORM PLAN, bin/build LAYERS PLATFORM PLAN.
    assert context.DetectArgs.from_environment({}, ["/a", "/b"]).plan_path.as_posix() == "/b"
    args = context.BuildArgs.from_environment({}, ["/layers", "/platform", "/plan"])
    assert (args.layers_dir.as_posix(), args.env_dir.as_posix()) == ("/layers", "/platform/env")
    with raises_id("cnb::missing-argument"):
        context.BuildArgs.from_environment({}, [])
    assert context.requested({"CNB_BUILDPACK_DIR": str(settings.BUILDPACK_DIR) + "/"})
    assert not context.requested({"CNB_BUILDPACK_DIR": str(tmp_path)})
    assert not context.requested({})


@pytest.mark.parametrize("name,version,stack", [("ubuntu", "24.04", "ubuntu-24.04"),
                                                ("debian", "12", "debian-12"),
                                                ("", "12", None), ("ubuntu", "", None)])
def test_target_stack_is_named_like_the_classic_stacks(name, version, stack):
    environ = {"CNB_TARGET_DISTRO_NAME": name, "CNB_TARGET_DISTRO_VERSION": version}
    assert context.target_stack(environ) == stack


def test_the_plans_environment_gets_the_run_images_stack(monkeypatch):
    monkeypatch.delenv("STACK", raising=False)
    target = {"CNB_TARGET_DISTRO_NAME": "ubuntu", "CNB_TARGET_DISTRO_VERSION": "24.04"}
    assert context.plan_environ(target)["STACK"] == "ubuntu-24.04"
    assert context.plan_environ({**target, "STACK": "heroku-24"})["STACK"] == "heroku-24"
    assert "STACK" not in context.plan_environ({})
    assert "STACK" not in os.environ  # the process's environment is left alone


def test_buildpack_descriptor():
    descriptor = tomllib.loads((support.ROOT / "buildpack.toml").read_text())
    assert descriptor["api"] == "0.10"
    assert sbom.MEDIA_TYPE in descriptor["buildpack"]["sbom-formats"]
    assert {t["arch"] for t in descriptor["targets"]} == {"amd64", "arm64"}
    assert (support.BIN / "build").stat().st_mode & 0o111


# --- launch.toml, layer metadata ----------------------------------------------------------

def test_launch_toml_runs_procfile_commands_through_bash():
    text = launch.render({"web": "gunicorn app:app --bind 0.0.0.0:$PORT", "worker": "celery -A x"},
                         None)
    assert tomllib.loads(text) == {"processes": [
        {"type": "web", "command": ["bash", "-c", "gunicorn app:app --bind 0.0.0.0:$PORT"],
         "default": True},
        {"type": "worker", "command": ["bash", "-c", "celery -A x"], "default": False}]}
    [process] = tomllib.loads(launch.render({"web": "python app.py"},
                                            support.ROOT / "api"))["processes"]
    assert process["working-dir"] == str(support.ROOT / "api")


def test_detect_writes_the_build_plan_as_toml():
    assert tomllib.loads(detect.PLAN) == {"provides": [{"name": "python"}],
                                          "requires": [{"name": "python"}]}


def test_launch_toml_keeps_odd_commands_and_paths_readable():
    command = 'echo "a\\b" \t$PORT \x7f \u00e9'
    text = launch.render({"web": command}, Path("/app/caf\udce9"))  # a non-UTF-8 folder name
    text.encode("utf-8")  # TOML is UTF-8: the lone surrogate became U+FFFD
    [process] = tomllib.loads(text)["processes"]
    assert process["command"] == ["bash", "-c", command]
    assert process["working-dir"] == "/app/caf\ufffd"


def test_without_the_libraries_the_layer_files_fail_with_an_id(tmp_path, monkeypatch):
    """No bundled or cached tomli-w and an index that does not answer: a clear error."""
    monkeypatch.setattr(libraries, "_ready", False)
    monkeypatch.setattr(settings, "BUNDLED_WHEELS", tmp_path / "no-bundle")
    env = {"PATH": "/usr/bin:/bin", "PIP_INDEX_URL": f"http://127.0.0.1:{support.free_port()}/simple",
           "PIP_RETRIES": "0", "PIP_TIMEOUT": "2", "PIP_NO_CACHE_DIR": "1"}
    ctx = InstallContext(tmp_path, tmp_path, Path(sys.executable), env, tmp_path / "cache", [], "",
                         AppFiles(tmp_path), slug_root=None)
    with raises_id("cnb::libraries-unavailable") as err:
        cnb_build._require_libraries(ctx)
    assert "vendor/libraries.txt" in err.value.body


KEY = env_cache.CacheKey(env_cache.FORMAT_VERSION, "3.13.0", "ab" * 32, "debian-12", "x86_64",
                         "pip", "26.3", "ef" * 32)


def _as_restored(metadata: dict) -> str:
    """``<layer>.toml`` as the lifecycle writes it back: metadata only, keys sorted and
    indented (Go's encoder)."""
    return "[metadata]\n" + "".join(f"  {k} = {json.dumps(v)}\n" for k, v in sorted(metadata.items()))


def test_layer_metadata_survives_the_lifecycles_round_trip():
    metadata = cnb_build.key_metadata(KEY)
    assert all(isinstance(v, str) for v in metadata.values())  # numbers come back as floats
    assert tomllib.loads(toml_io.dumps({"metadata": metadata}))["metadata"] == metadata
    restored = toml_io.loads(_as_restored(metadata))["metadata"]
    assert restored == metadata
    assert env_cache.differences(cnb_build._previous_key(restored), KEY) == []
    assert env_cache.differences(cnb_build._previous_key({**restored, "format": float(env_cache.FORMAT_VERSION)}), KEY) == []
    newer = dataclasses.replace(KEY, python_version="3.13.1")
    assert env_cache.differences(cnb_build._previous_key(restored), newer) == [
        "The Python version changed (3.13.0 -> 3.13.1)"]


@pytest.mark.parametrize("change, has_python, state, discards", [
    ({}, True, "updated", False),  # the package manager decides what changed
    ({"python_version": "3.13.1"}, True, "installed", True),
    ({"settings_sha256": "new"}, True, "installed", True),
    ({"manager": "uv"}, True, "installed", True),
    ({}, False, "installed", False),  # the layer did not come back
])
def test_the_previous_python_layer_is_updated_or_replaced(tmp_path, capsys, change,
                                                         has_python, state, discards):
    layers = Layers(tmp_path)
    python = layers.path("python") / "bin" / "python3"
    python.parent.mkdir(parents=True)
    if has_python:
        python.write_text("")
    (tmp_path / "python.toml").write_text(_as_restored(cnb_build.key_metadata(KEY)))
    target = cnb_build.LayersTarget(layers)
    assert target.prepare(dataclasses.replace(KEY, **change)) == state
    # Updated in place: the layer stays, without metadata until the build succeeds.
    assert python.exists() == (state != "installed")
    assert not (tmp_path / "python.toml").exists()
    # The reasons come from env_cache's one printer, as for a slug.
    assert (f"-----> {env_cache.DISCARDING}\n" in capsys.readouterr().out) == discards


# --- the SBOM, exec.d ---------------------------------------------------------------------

def test_sbom_components_and_purls():
    runtime = RuntimeEntry("3.13.0", "debian-12", "x86_64", "python-3.13.0-debian-12-x86_64.tar.gz",
                           "ab" * 32, 1)
    dists = [sbom.Distribution("Zope.Interface", "7.0+local.1", "ZPL-2.1"),
             sbom.Distribution("flask", "3.1.3")]
    document = json.loads(sbom.render(runtime, dists))
    assert document["bomFormat"] == "CycloneDX" and document["specVersion"] == "1.4"
    cpython, zope, flask = document["components"]
    assert cpython["purl"] == "pkg:generic/cpython@3.13.0"
    assert cpython["hashes"] == [{"alg": "SHA-256", "content": "ab" * 32}]
    assert zope["purl"] == "pkg:pypi/zope-interface@7.0%2Blocal.1"
    assert zope["licenses"] == [{"expression": "ZPL-2.1"}]
    assert flask == {"type": "library", "bom-ref": "pkg:pypi/flask@3.1.3", "name": "flask",
                     "version": "3.1.3", "purl": "pkg:pypi/flask@3.1.3"}


def test_sbom_lists_what_a_python_sees_once_per_name():
    dists = sbom.installed_distributions(Path(sys.executable))  # the test venv's Python
    names = [d.canonical_name for d in dists]
    assert names == sorted(set(names)) and "pytest" in names


def test_exec_d_sets_web_concurrency_unless_set(tmp_path):
    program = tmp_path / "web-concurrency"
    program.write_text(launch_env.render_exec_d())
    program.chmod(0o755)
    run = ["/bin/sh", "-c", 'exec "$0" 3>&1 1>&2', str(program)]
    out = subprocess.run(run, capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin"}).stdout
    assert int(tomllib.loads(out)["WEB_CONCURRENCY"]) >= 1
    out = subprocess.run(run, capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin", "WEB_CONCURRENCY": "7"}).stdout
    assert out == ""


def test_launch_defaults_leave_gunicorn_config_alone(tmp_path):
    assert launch_env.defaults(tmp_path)["GUNICORN_CMD_ARGS"] == "--access-logfile -"
    (tmp_path / "gunicorn.conf.py").write_text("workers = 2\n")
    assert "GUNICORN_CMD_ARGS" not in launch_env.defaults(tmp_path)


def test_layer_toml_written_and_metadata_read_back(tmp_path, capsys):
    layers = Layers(tmp_path)
    layers.write("python", LayerTypes(launch=True, cache=True), {"python_version": "3.13.0"})
    assert tomllib.loads((tmp_path / "python.toml").read_text()) == {
        "types": {"launch": True, "build": False, "cache": True},
        "metadata": {"python_version": "3.13.0"}}
    assert layers.metadata("python") == {"python_version": "3.13.0"}
    assert layers.metadata("absent") is None
    (tmp_path / "odd.toml").write_bytes(b"[metadata\n  when = '\xff'\n")  # neither TOML nor UTF-8
    assert layers.metadata("odd") is None  # the layer is then built afresh
    (tmp_path / "odd.toml").write_text("[metadata\n")
    assert layers.metadata("odd") is None
    assert "The previous odd layer's metadata cannot be read" in capsys.readouterr().out
