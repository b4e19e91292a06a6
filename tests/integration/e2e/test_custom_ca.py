"""A host whose package index and runtime store are reached over HTTPS signed by a CA
that only the host's custom trust store has (issue 22, item 6): a TLS-inspecting proxy
of a company network, given to the build the way a platform gives it: ``SSL_CERT_FILE``
naming a bundle, ``PIP_CERT``, or ``SSL_CERT_DIR`` naming a hashed CA folder.

The CA and the server certificate are made here with ``openssl``; a TLS front on
loopback serves the test store and forwards the index to the tests' pypiserver. A real
build then downloads its Python from the store and installs with uv (the default
engine) and with pip. Without the CA the same build fails on the certificate.
"""
from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

from tests import support
from tests.support.tls import NltkHttpsMirror, TlsFront, in_system_store, make_ca, system_store_with

pytestmark = pytest.mark.slow

# What this session's host sets: each case gives the build only its own.
TRUST_VARS = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "PIP_CERT",
              "UV_SYSTEM_CERTS", "UV_NATIVE_TLS")


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return make_ca(tmp_path_factory.mktemp("ca") / "ca")


@pytest.fixture(scope="module")
def front(ca, runtime_store, package_index):
    server = TlsFront(ca["cert"], ca["key"], Path(runtime_store), package_index.url)
    yield server
    server.stop()


APP = {"requirements.txt": "six==1.17.0\n", "runtime.txt": "python-{version}\n"}


def _build(tmp_path: Path, front: TlsFront, trust: dict[str, str], engine: str) -> support.BuildResult:
    version = support.store_versions()["3.13"]
    app = support.write_app(tmp_path, {k: v.format(version=version) for k, v in APP.items()})
    env = {k: v for k, v in support.build_env(f"{front.url}/store/", f"{front.url}/simple/").items()
           if k not in TRUST_VARS}
    env.update(trust)
    if engine == "pip":
        env["PYTHON_INSTALLER"] = "pip"
    return support.compile_app(app, tmp_path / "cache", env, timeout=900)


def _six_installed(build: support.BuildResult) -> bool:
    return bool(list((build.build_dir / ".heroku/python/lib").glob("python3.*/site-packages/six.py")))


@pytest.mark.parametrize("engine, given", [("uv", "SSL_CERT_FILE"), ("pip", "SSL_CERT_FILE"),
                                           ("uv", "PIP_CERT"), ("pip", "PIP_CERT"),
                                           ("uv", "SSL_CERT_DIR")])
def test_a_build_trusts_the_ca_the_host_gives(tmp_path, ca, front, engine, given):
    trust = {given: str(ca["cadir"] if given == "SSL_CERT_DIR" else ca["bundle"])}
    before = len(front.requests)
    build = _build(tmp_path, front, trust, engine)
    assert build.returncode == 0, build.log
    assert _six_installed(build), build.log
    served = front.requests[before:]
    assert any(p.startswith("/store/") and p.endswith(".tar.xz") for p in served), served
    assert any("/six" in p for p in served), served
    assert "Traceback" not in build.log


@pytest.mark.parametrize("engine", ["uv", "pip"])
def test_without_the_ca_the_same_build_fails_on_the_certificate(tmp_path, front, engine):
    """The CA is in no trust store the build reads: the store download is refused (the
    index would be too), so the cases above pass because the CA was trusted."""
    build = _build(tmp_path, front, {"SSL_CERT_FILE": ssl.get_default_verify_paths().openssl_cafile}, engine)
    assert build.returncode != 0
    assert "CERTIFICATE_VERIFY_FAILED" in build.log or "certificate" in build.log.lower(), build.log
    assert not _six_installed(build)
    assert "Traceback" not in build.log


def test_uv_reads_the_system_trust_store_only_with_system_certs(tmp_path, ca, front):
    """What UV_SYSTEM_CERTS changes: with the CA only in the system trust store, the
    pinned uv cannot reach the index on its own bundled roots, and can with the setting
    the build gives it."""
    uv = shutil.which("uv", path=str(Path(sys.executable).parent))
    if uv is None:
        pytest.fail("uv is not in the test venv (requirements-dev.txt)")
    certs = system_store_with(ca["cadir"] / "test-proxy-ca.pem", tmp_path)
    base = {k: v for k, v in os.environ.items() if k not in TRUST_VARS and not k.startswith(("PIP_", "UV_"))}
    base.update(UV_CACHE_DIR=str(tmp_path / "uv-cache"), UV_NO_PROGRESS="1")

    def install(extra: dict[str, str], target: Path) -> subprocess.CompletedProcess[str]:
        cmd = [uv, "pip", "install", "--no-deps", "--target", str(target), "--index-url",
               f"{front.url}/simple/", "--python", sys.executable, "six==1.17.0"]
        return subprocess.run(in_system_store(cmd, certs), env={**base, **extra}, capture_output=True,
                              text=True, timeout=300)

    without = install({}, tmp_path / "a")
    assert without.returncode != 0 and "UnknownIssuer" in without.stderr, without.stderr
    with_ = install({"UV_SYSTEM_CERTS": "1"}, tmp_path / "b")
    assert with_.returncode == 0, with_.stderr
    assert (tmp_path / "b" / "six.py").is_file()


@pytest.mark.parametrize("engine", ["uv", "pip"])
def test_a_build_trusts_a_ca_that_only_the_system_trust_store_has(tmp_path, ca, front, engine):
    """The bare machine behind a TLS-inspecting proxy: no SSL_CERT_FILE, no PIP_CERT, the
    proxy's CA only in /etc/ssl/certs. The store download, uv and pip all trust it."""
    certs = system_store_with(ca["cadir"] / "test-proxy-ca.pem", tmp_path)
    version = support.store_versions()["3.13"]
    app = support.write_app(tmp_path, {k: v.format(version=version) for k, v in APP.items()})
    env = {k: v for k, v in support.build_env(f"{front.url}/store/", f"{front.url}/simple/").items()
           if k not in TRUST_VARS}
    if engine == "pip":
        env["PYTHON_INSTALLER"] = "pip"
    before = len(front.requests)
    proc = subprocess.run(in_system_store([str(support.BIN / "compile"), str(app), str(tmp_path / "cache")], certs),
                          env=env, capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)
    build = support.BuildResult(proc.returncode, proc.stdout, proc.stderr, app)
    assert build.returncode == 0, build.log
    assert _six_installed(build), build.log
    served = front.requests[before:]
    assert any(p.endswith(".tar.xz") for p in served) and any("/six" in p for p in served), served


@pytest.mark.parametrize("fixture", ["pipenv-app", "poetry-app", "pdm-app", "uv-app"])
def test_the_package_managers_trust_the_ca_the_host_gives(tmp_path, ca, front, fixture):
    """Pipenv, Poetry, PDM and uv sync, each installed from the HTTPS index by the build
    and installing its lock file from there, with the CA only in SSL_CERT_FILE's bundle."""
    support.ensure_tool_packages()
    trust = {"SSL_CERT_FILE": str(ca["bundle"])}
    python = support.find_prefix("3.13") / "bin" / "python3.13"
    app = support.lock_fixture(fixture, tmp_path / "src", f"{front.url}/simple/", python,
                               {**trust, "REQUESTS_CA_BUNDLE": str(ca["bundle"])})
    env = {k: v for k, v in support.build_env(f"{front.url}/store/", f"{front.url}/simple/").items()
           if k not in TRUST_VARS}
    env.update(trust)
    before = len(front.requests)
    build = support.compile_app(app, tmp_path / "cache", env, timeout=900)
    assert build.returncode == 0, build.log
    assert _six_installed(build), build.log
    assert any("/six" in p for p in front.requests[before:])
    assert "Traceback" not in build.log


def test_poetry_trusts_a_ca_that_only_the_system_trust_store_has(tmp_path, ca, front):
    """No SSL_CERT_FILE or PIP_CERT: the proxy's CA only in /etc/ssl/certs. Poetry's
    requests, which would trust only certifi's roots, gets the system bundle."""
    support.ensure_tool_packages()
    certs = system_store_with(ca["cadir"] / "test-proxy-ca.pem", tmp_path)
    python = support.find_prefix("3.13") / "bin" / "python3.13"
    app = support.lock_fixture("poetry-app", tmp_path / "src", f"{front.url}/simple/", python,
                               {"SSL_CERT_FILE": str(ca["bundle"]), "REQUESTS_CA_BUNDLE": str(ca["bundle"])})
    env = {k: v for k, v in support.build_env(f"{front.url}/store/", f"{front.url}/simple/").items()
           if k not in TRUST_VARS}
    before = len(front.requests)
    proc = subprocess.run(in_system_store([str(support.BIN / "compile"), str(app), str(tmp_path / "cache")], certs),
                          env=env, capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)
    build = support.BuildResult(proc.returncode, proc.stdout, proc.stderr, app)
    assert build.returncode == 0, build.log
    assert "-----> Installing dependencies using Poetry" in build.stdout
    assert _six_installed(build), build.log
    assert any(p.startswith("/packages/six") for p in front.requests[before:])


# --- NLTK: nltk.txt's data from an HTTPS mirror ----------------------------------------------

@pytest.fixture
def nltk_https(tmp_path, ca):
    mirror = NltkHttpsMirror(tmp_path / "nltk-index", ca)
    yield mirror
    mirror.stop()


def _nltk_build(tmp_path: Path, build_env: dict[str, str], mirror: NltkHttpsMirror,
                trust: dict[str, str], certs: Path | None = None) -> support.BuildResult:
    """The nltk-app built against the plain test store and index, its NLTK data from the
    HTTPS mirror (the config vars point NLTK there), the host's trust given by ``trust``
    or by ``certs`` mounted as the system store."""
    app = support.copy_fixture("nltk-app", tmp_path / "build")
    env = {k: v for k, v in build_env.items() if k not in TRUST_VARS}
    env.update(trust)
    env_dir = support.config_dir(tmp_path / "env", **mirror.config)
    cmd = [str(support.BIN / "compile"), str(app), str(tmp_path / "cache"), str(env_dir)]
    proc = subprocess.run(in_system_store(cmd, certs) if certs else cmd, env=env, capture_output=True,
                          text=True, timeout=900, stdin=subprocess.DEVNULL)
    return support.BuildResult(proc.returncode, proc.stdout, proc.stderr, app)


@pytest.mark.parametrize("given", ["SSL_CERT_FILE", "PIP_CERT", "system store"])
def test_the_nltk_download_trusts_the_ca_the_host_gives(tmp_path, ca, build_env, nltk_https, given):
    """The mirror's certificate is signed by the test CA, which only the bundle the
    platform names (SSL_CERT_FILE, or PIP_CERT alone) or the system store holds."""
    certs = system_store_with(ca["cadir"] / "test-proxy-ca.pem", tmp_path) if given == "system store" else None
    build = _nltk_build(tmp_path, build_env, nltk_https, {} if certs else {given: str(ca["bundle"])}, certs)
    assert build.returncode == 0, build.log
    assert "-----> Downloading NLTK data (nltk.txt)\n" in build.stdout
    words = build.build_dir / ".heroku/python/nltk_data/corpora/tinycorpus/words"
    assert words.read_text() == "hello\nfrom\nnltk\n"
    assert nltk_https.counts.get("/packages/corpora/tinycorpus.zip") == 1
    assert set(nltk_https.tunnels) == {f"{support.NLTK_MIRROR_HOST}:443"}


def test_without_the_ca_the_nltk_download_fails_on_the_certificate(tmp_path, build_env, nltk_https):
    """The host trusts only the system's own roots: NLTK refuses the mirror's certificate,
    and the build fails with NLTK's reason above the error (so the cases above pass
    because the CA was trusted, not because nothing was checked)."""
    build = _nltk_build(tmp_path, build_env, nltk_https,
                        {"SSL_CERT_FILE": ssl.get_default_verify_paths().openssl_cafile})
    assert build.returncode != 0
    assert "(error id: nltk::download-failed)" in build.log
    assert "CERTIFICATE_VERIFY_FAILED" in build.log, build.log
    assert "/packages/corpora/tinycorpus.zip" not in nltk_https.counts
    assert "Traceback" not in build.log
