"""Which certificates the build trusts: the host's own trust store, or the CA bundle the
platform names.

A host behind a TLS-inspecting proxy trusts the proxy's CA through its system trust
store (``/etc/ssl/certs``) or through ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` / ``PIP_CERT``.
Every client of the build must trust the same: OpenSSL-based ones (the buildpack's own
downloads, pip through truststore, NLTK) read the system store and the ``SSL_CERT_*``
variables by themselves; uv needs ``UV_SYSTEM_CERTS`` (it trusts only its bundled roots
otherwise); requests-based tools (Pipenv, Poetry) read ``REQUESTS_CA_BUNDLE``.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ssl


def platform_ca(environ: Mapping[str, str]) -> str | None:
    """The CA bundle the platform names: SSL_CERT_FILE, else pip's PIP_CERT."""
    for name in ("SSL_CERT_FILE", "PIP_CERT"):
        value = environ.get(name, "").strip()
        if value:
            return value
    return None


def system_bundle() -> str | None:
    """The host OpenSSL's own CA bundle file (``/usr/lib/ssl/cert.pem`` on Debian), if any:
    what ``ssl.get_default_verify_paths().openssl_cafile`` names, read from ``_ssl`` (every
    build asks; importing ``ssl`` costs 20-30 ms of the build's start, ``_ssl`` 3 ms)."""
    try:
        import _ssl  # not at import (nor ssl): read on every build's start, see above
    except ImportError:  # a Python without OpenSSL: nothing to trust
        return None
    path = _ssl.get_default_verify_paths()[1]
    return path if isinstance(path, str) and path and os.path.isfile(path) else None


def installer_settings(settings: Mapping[str, str]) -> dict[str, str]:
    """What the installers run with so that they trust what the host trusts; ``settings``
    are the network variables the build passes on (the platform's, then the app's)."""
    found = {"UV_SYSTEM_CERTS": "1"}  # uv: the platform's certificate store, not its own roots
    ca = platform_ca(settings)
    if ca:
        found["SSL_CERT_FILE"] = settings.get("SSL_CERT_FILE", "").strip() or ca
    bundle = ca or settings.get("SSL_CERT_DIR", "").strip() or system_bundle()
    if bundle:
        found["REQUESTS_CA_BUNDLE"] = bundle  # requests (Pipenv, Poetry) would use certifi's
    return {name: value for name, value in found.items() if not settings.get(name, "").strip()}


def https_context(environ: Mapping[str, str] | None = None) -> ssl.SSLContext:
    """The TLS settings of the buildpack's own downloads (the runtime store, the uv and
    library downloads): the host's trust store and SSL_CERT_FILE / SSL_CERT_DIR (OpenSSL
    reads them), or PIP_CERT when it is the only CA bundle the platform names."""
    import ssl  # not at import: only a download needs it

    env = os.environ if environ is None else environ
    ca = platform_ca(env)
    if ca and not env.get("SSL_CERT_FILE", "").strip():
        return ssl.create_default_context(cafile=ca)
    return ssl.create_default_context()
