"""Issue 24, item 7: the SBOM (``app_build.sbom``), one document for CNB and slugs, valid
CycloneDX (checked with the CycloneDX project's own JSON schema validator), with the hashes
an environment records and the runtime's pristine source."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from cyclonedx.schema import OutputFormat, SchemaVersion
from cyclonedx.validation import make_schemabased_validator

from buildpack.app_build import sbom
from buildpack.runtime.manifest import RuntimeEntry


def _pinned_runtime() -> RuntimeEntry:
    """A runtime whose release vendor/cpython-sources.json pins (it has a source pedigree)."""
    pins = json.loads(sbom.SOURCE_PINS.read_text())["minors"]
    version = next(pin["version"] for pin in pins.values())
    return RuntimeEntry(version, "debian-12", "x86_64", f"python-{version}.tar.xz", "a" * 64, 1)


def _validate(text: str) -> None:
    validator = make_schemabased_validator(OutputFormat.JSON, SchemaVersion.from_version(sbom.SPEC_VERSION))
    errors = validator.validate_str(text)
    assert errors is None, errors


def test_document_is_valid_cyclonedx_with_hashes_and_the_runtime_source() -> None:
    runtime = _pinned_runtime()
    dists = [sbom.Distribution("Zope.Interface", "7.0+local.1", "ZPL-2.1"),
             sbom.Distribution("demo", "1.0", None, (("SHA-256", "b" * 64),))]
    text = sbom.render(runtime, dists)
    _validate(text)
    cpython, zope, demo = json.loads(text)["components"]
    file, source_sha = sbom.source_pin(runtime.version) or ("", "")
    assert cpython["hashes"] == [{"alg": "SHA-256", "content": "a" * 64}]
    ancestor = cpython["pedigree"]["ancestors"][0]
    assert ancestor["hashes"] == [{"alg": "SHA-256", "content": source_sha}] and file in ancestor["description"]
    assert "hashes" not in zope
    assert demo["hashes"] == [{"alg": "SHA-256", "content": "b" * 64}]


def test_a_runtime_the_buildpack_does_not_pin_has_no_pedigree() -> None:
    pinned = _pinned_runtime().version
    other = pinned.rsplit(".", 1)[0] + ".999"  # same minor, a release nobody pinned
    assert sbom.source_pin(other) is None and sbom.source_pin(pinned) is not None
    text = sbom.render(RuntimeEntry(other, "debian-12", "x86_64", "python.tar.xz", "a" * 64, 1), [])
    _validate(text)
    assert "pedigree" not in json.loads(text)["components"][0]


@pytest.mark.parametrize("raw, expected", [
    ({"sha256": "AB" * 32}, (("SHA-256", "ab" * 32),)),
    ({"sha256": "ab" * 31}, ()),  # too short
    ({"sha256": "zz" * 32}, ()),  # not hex
    ({"blake2b": "ab" * 32}, ()),  # not an algorithm CycloneDX 1.4 names
    ({"sha512": "cd" * 64, "md5": "ef" * 16}, (("MD5", "ef" * 16), ("SHA-512", "cd" * 64))),
    ("sha256=ab", ()),
])
def test_only_well_formed_hashes_are_kept(raw, expected) -> None:
    assert sbom._known_hashes(raw) == expected


def _wheel(folder: Path) -> tuple[Path, str]:
    path = folder / "demo_pkg-1.0-py3-none-any.whl"
    files = {"demo_pkg/__init__.py": "x = 1\n",
             "demo_pkg-1.0.dist-info/METADATA": "Metadata-Version: 2.4\nName: demo-pkg\nVersion: 1.0\n"
                                                "License-Expression: MIT\n",
             "demo_pkg-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\n"
                                             "Root-Is-Purelib: true\nTag: py3-none-any\n"}
    with zipfile.ZipFile(path, "w") as wheel:
        for name, text in files.items():
            wheel.writestr(name, text)
        wheel.writestr("demo_pkg-1.0.dist-info/RECORD",
                       "".join(f"{name},,\n" for name in files) + "demo_pkg-1.0.dist-info/RECORD,,\n")
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def _venv(folder: Path, *install: str) -> Path:
    """A venv without pip of its own, ``install`` installed into it by the test's pip (a
    real install: about a second, more under load, so each module makes two at most)."""
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin/python"), "install", "-q",
                    "--no-index", "--disable-pip-version-check", *install], check=True,
                   env={"PATH": "/usr/bin:/bin", "PIP_CONFIG_FILE": "/dev/null"})
    return venv


def test_a_real_environment_lists_the_hash_pip_recorded(tmp_path: Path) -> None:
    """pip records the archive's hash of a local or direct-URL install (PEP 610)."""
    wheel, digest = _wheel(tmp_path)
    venv = _venv(tmp_path, str(wheel))
    dists = {d.canonical_name: d for d in sbom.installed_distributions(venv / "bin/python")}
    assert dists["demo-pkg"].hashes == (("SHA-256", digest),)
    assert dists["demo-pkg"].license == "MIT"
    assert dists.keys() == {"demo-pkg"}
    written = [tmp_path / "a.cdx.json", tmp_path / "b.cdx.json"]
    sbom.write(written, _pinned_runtime(), venv / "bin/python")
    assert written[0].read_text() == written[1].read_text()
    _validate(written[0].read_text())


LOCKS = {
    "uv.lock": 'version = 1\n[[package]]\nname = "demo-pkg"\nversion = "1.0"\n'
               'wheels = [{{ url = "http://127.0.0.1:1/files/{file}", hash = "sha256:{digest}", size = 1 }},\n'
               '  {{ url = "http://127.0.0.1:1/files/demo_pkg-1.0-cp313-cp313-win_amd64.whl", hash = "sha256:{other}" }}]\n',
    "poetry.lock": '[[package]]\nname = "demo-pkg"\nversion = "1.0"\n'
                   'files = [{{file = "{file}", hash = "sha256:{digest}"}}]\n',
    "pylock.toml": 'lock-version = "1.0"\ncreated-by = "x"\n[[packages]]\nname = "demo-pkg"\nversion = "1.0"\n'
                   '[[packages.wheels]]\nname = "{file}"\nurl = "http://127.0.0.1:1/{file}"\n'
                   'hashes = {{sha256 = "{digest}"}}\n',
}


@pytest.fixture(scope="module")
def index_install(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """(venv, wheel, sha256): the wheel installed as from an index (``--find-links``, no
    direct_url.json), once for the lock-file cases."""
    folder = tmp_path_factory.mktemp("index-install")
    wheels = folder / "wheels"
    wheels.mkdir()
    wheel, digest = _wheel(wheels)
    return _venv(folder, "--find-links", str(wheels), "demo-pkg"), wheel, digest


@pytest.mark.parametrize("lock", LOCKS)
def test_an_index_install_gets_the_locked_wheels_hash(tmp_path: Path, lock: str,
                                                      index_install: tuple[Path, Path, str]) -> None:
    """Installed from an index (no direct_url.json): the lock file's hash of that wheel."""
    from buildpack.app.app_files import AppFiles

    venv, wheel, digest = index_install
    assert not list((venv / "lib").glob("python3*/site-packages/demo_pkg-1.0.dist-info/direct_url.json"))
    app = tmp_path / "app"
    app.mkdir()
    (app / lock).write_text(LOCKS[lock].format(file=wheel.name, digest=digest, other="c" * 64))
    locked = sbom.lock_hashes(AppFiles(app), [app / lock])
    assert locked[wheel.name] == digest
    dists = {d.canonical_name: d for d in sbom.installed_distributions(venv / "bin/python", locked)}
    assert dists["demo-pkg"].hashes == (("SHA-256", digest),)
    assert [d.hashes for d in sbom.installed_distributions(venv / "bin/python")] == [()]  # no lock: none


def test_a_wheel_of_other_tags_is_not_taken_for_the_installed_one() -> None:
    wheels = sbom._wheels_by_release({"demo_pkg-1.0-cp313-cp313-win_amd64.whl": "c" * 64,
                                      "demo_pkg-1.0-py3-none-any.whl": "d" * 64})
    assert sbom._locked_hash(wheels, "demo-pkg", "1.0", {"py3-none-any"}) == {"sha256": "d" * 64}
    assert sbom._locked_hash(wheels, "demo-pkg", "1.0", {"cp313-cp313-manylinux_2_17_x86_64"}) == {}
    assert sbom._locked_hash(wheels, "demo-pkg", "2.0", {"py3-none-any"}) == {}


def test_the_listing_matches_importlib_metadata_inside_that_python() -> None:
    """The metadata folders read in the build's own process give what the Python itself
    reports (``importlib.metadata`` run in it): every name, version and license expression
    of the test environment's packages (pip, pytest, mypy, uv, ... and their dependencies)."""
    code = ("import importlib.metadata as m, json\n"
            "seen = {}\n"
            "for d in m.distributions():\n"
            "    seen.setdefault(d.metadata['Name'].lower().replace('_', '-').replace('.', '-'),\n"
            "                    [d.version, d.metadata.get('License-Expression')])\n"
            "print(json.dumps(seen))")
    venv_python = Path(sys.prefix) / "bin/python"
    reported = json.loads(subprocess.run([str(venv_python), "-I", "-c", code], check=True,
                                         capture_output=True, text=True).stdout)
    listed = {d.canonical_name: [d.version, d.license]
              for d in sbom.installed_distributions(venv_python)}
    assert len(listed) > 20
    assert listed == reported
