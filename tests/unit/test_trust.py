"""Which certificates the build trusts (issue 22, item 6): the settings every installer
gets, and the buildpack's own downloads against a real HTTPS server on loopback whose CA
only a custom bundle has."""
from __future__ import annotations

import ssl
import urllib.error
from pathlib import Path

import pytest

from buildpack.base import trust
from buildpack.base.http_client import open_url
from buildpack.installers import subprocess_env
from tests.support.tls import TlsFront, make_ca

SYSTEM = ssl.get_default_verify_paths().openssl_cafile


def test_with_nothing_given_uv_uses_the_system_store_and_requests_the_system_bundle():
    assert trust.installer_settings({}) == {"UV_SYSTEM_CERTS": "1", "REQUESTS_CA_BUNDLE": SYSTEM}
    assert trust.system_bundle() == SYSTEM


@pytest.mark.parametrize("given, wanted", [
    ({"SSL_CERT_FILE": "/ca.pem"}, {"REQUESTS_CA_BUNDLE": "/ca.pem"}),
    ({"PIP_CERT": "/pip.pem"}, {"SSL_CERT_FILE": "/pip.pem", "REQUESTS_CA_BUNDLE": "/pip.pem"}),
    ({"SSL_CERT_FILE": "/ca.pem", "PIP_CERT": "/pip.pem"}, {"REQUESTS_CA_BUNDLE": "/ca.pem"}),
    ({"SSL_CERT_DIR": "/certs"}, {"REQUESTS_CA_BUNDLE": "/certs"}),
    ({"REQUESTS_CA_BUNDLE": "/mine.pem", "UV_SYSTEM_CERTS": "0"}, {}),
])
def test_a_ca_the_platform_names_reaches_every_installer(given, wanted):
    base = {} if "UV_SYSTEM_CERTS" in given else {"UV_SYSTEM_CERTS": "1"}
    assert trust.installer_settings(given) == {**base, **wanted}


def test_the_build_environment_carries_the_trust_settings(tmp_path):
    env = subprocess_env.build_env({"PATH": "/usr/bin", "PIP_CERT": "/platform.pem"}, {},
                                   tmp_path / "bin", tmp_path / "cache")
    assert env["UV_SYSTEM_CERTS"] == "1"
    assert env["PIP_CERT"] == env["SSL_CERT_FILE"] == env["REQUESTS_CA_BUNDLE"] == "/platform.pem"
    # An app's config var names its own CA: it wins over the platform's, as for pip.
    env = subprocess_env.build_env({"PATH": "/usr/bin", "SSL_CERT_FILE": "/platform.pem"},
                                   {"SSL_CERT_FILE": "/app.pem"}, tmp_path / "bin", tmp_path / "cache")
    assert env["SSL_CERT_FILE"] == env["REQUESTS_CA_BUNDLE"] == "/app.pem"


@pytest.fixture(scope="module")
def front(tmp_path_factory):
    root = tmp_path_factory.mktemp("tls")
    ca = make_ca(root / "ca")
    (root / "store").mkdir()
    (root / "store" / "manifest.json").write_text('{"schema": 1, "runtimes": []}\n')
    server = TlsFront(ca["cert"], ca["key"], root / "store", "http://127.0.0.1:9/")
    yield server, ca
    server.stop()


def _get(url: str) -> bytes:
    with open_url(url, 10) as response:
        return bytes(response.read())


@pytest.mark.parametrize("given", ["SSL_CERT_FILE", "PIP_CERT", "SSL_CERT_DIR"])
def test_the_store_download_trusts_the_ca_the_platform_names(front, monkeypatch, given):
    server, ca = front
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR", "PIP_CERT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(given, str(ca["cadir"] if given == "SSL_CERT_DIR" else ca["bundle"]))
    assert _get(f"{server.url}/store/manifest.json").startswith(b'{"schema": 1')


def test_without_the_ca_the_store_download_fails_on_the_certificate(front, monkeypatch):
    server, _ca = front
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR", "PIP_CERT"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(urllib.error.URLError) as err:
        _get(f"{server.url}/store/manifest.json")
    assert isinstance(err.value.reason, ssl.SSLCertVerificationError)
    assert Path(SYSTEM).is_file()  # the host's own store was used, and it lacks the test CA
