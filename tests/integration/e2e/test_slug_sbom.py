"""Issue 24, item 7: a classic build writes the SBOM into the slug and beside the build
report; ``bin/report --sbom`` prints it; it is valid CycloneDX and lists what the slug's
Python has; a failed build leaves no SBOM beside its report."""
from __future__ import annotations

import hashlib
import json
import re
import subprocess

import pytest
from cyclonedx.schema import OutputFormat, SchemaVersion
from cyclonedx.validation import make_schemabased_validator

from buildpack.app_build import sbom
from tests import support

pytestmark = pytest.mark.slow


def _report(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(support.BIN / "report"), *args], capture_output=True, text=True,
                          timeout=60)


def test_slug_build_writes_a_valid_sbom_and_report_prints_it(tmp_path, build_env):
    app = support.copy_fixture("flask-app", tmp_path)
    cache = tmp_path / "cache"
    result = support.compile_app(app, cache, build_env)
    assert result.returncode == 0, result.log
    assert "-----> Writing the SBOM (.heroku/sbom.cdx.json, CycloneDX)" in result.stdout
    assert (app / ".heroku/sbom.cdx.json").is_file() and (cache / "sbom.cdx.json").is_file()
    text = (app / sbom.SLUG_PATH).read_text()
    assert (cache / sbom.CACHE_NAME).read_text() == text
    printed = _report("--sbom", str(app), str(cache))
    assert printed.returncode == 0 and printed.stdout == text
    validator = make_schemabased_validator(OutputFormat.JSON, SchemaVersion.V1_4)
    assert validator.validate_str(text) is None
    cpython, *components = json.loads(text)["components"]
    installed = support.installed_distributions(app)
    assert cpython["name"] == "cpython"
    assert cpython["version"] == json.loads((cache / "build-report.json").read_text())["python_version"]
    assert {re.sub(r"[-_.]+", "-", c["name"]).lower(): c["version"] for c in components} == installed
    assert installed["flask"] == "3.1.3"

    # A build that fails leaves no SBOM beside its report (and report says so).
    (app / "requirements.txt").write_text("Flask==3.1.3\nno-such-package-anywhere==1.0\n")
    failed = support.compile_app(app, cache, build_env)
    assert failed.returncode != 0
    assert not (cache / sbom.CACHE_NAME).exists()
    missing = _report("--sbom", str(app), str(cache))
    assert missing.returncode == 1 and "(error id: report::no-sbom)" in missing.stderr


def test_uv_app_sbom_carries_the_locked_wheel_hashes(tmp_path, build_env, package_index):
    """Installed from the index, each locked wheel's sha256 comes from uv.lock, and it is the
    hash of the very file the index serves."""
    support.ensure_tool_packages()
    python = support.find_prefix("3.13") / "bin" / "python3.13"
    app = support.lock_fixture("uv-app", tmp_path / "src", package_index.url, python)
    (app / ".python-version").write_text("3.13\n")
    result = support.compile_app(app, tmp_path / "cache", build_env)
    assert result.returncode == 0, result.log
    components = json.loads((app / sbom.SLUG_PATH).read_text())["components"][1:]
    hashed = {c["name"].lower(): c["hashes"][0]["content"] for c in components if "hashes" in c}
    assert hashed, components
    served = {p.name: p for p in package_index.packages.iterdir()}
    for component in components:
        if "hashes" not in component:
            continue
        digest = component["hashes"][0]["content"]
        files = [f for n, f in served.items() if n.lower().startswith(
            re.sub(r"[-_.]+", "_", component["name"]).lower() + "-" + component["version"] + "-")]
        assert any(hashlib.sha256(f.read_bytes()).hexdigest() == digest for f in files), component
