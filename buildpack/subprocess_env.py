"""The environment the build's subprocesses (pip, the app's Python) run with.

Built from scratch rather than inherited, so that a config var such as LD_PRELOAD,
PYTHONHOME or PYTHONPATH (or a build host's pip.conf) cannot change the build. Only
the variables listed here pass through, from the platform's environment or the
app's config vars (the latter win).
"""
from __future__ import annotations

from pathlib import Path

# From the build host: what programs need to run at all.
HOST_PASSTHROUGH = ("PATH", "HOME", "TMPDIR", "STACK", "SOURCE_DATE_EPOCH")

# Installer and network settings an app or platform may set (documented in README).
INSTALLER_ALLOWLIST = (
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_FIND_LINKS",
    "PIP_NO_INDEX",
    "PIP_TRUSTED_HOST",
    "PIP_CERT",
    "PIP_CLIENT_CERT",
    "PIP_DEFAULT_TIMEOUT",
    "PIP_RETRIES",
    "PIP_NO_BINARY",
    "PIP_ONLY_BINARY",
    "PIP_PREFER_BINARY",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
)


def build_env(environ: dict[str, str], config: dict[str, str], python_bin: Path,
              cache_dir: Path) -> dict[str, str]:
    """Environment for running the app's Python and pip during the build."""
    env = {name: environ[name] for name in HOST_PASSTHROUGH if name in environ}
    for name in INSTALLER_ALLOWLIST:
        if config.get(name, "").strip():
            env[name] = config[name].strip()
        elif environ.get(name, "").strip():
            env[name] = environ[name]
    env["PATH"] = f"{python_bin}:{env.get('PATH', '/usr/local/bin:/usr/bin:/bin')}"
    env.update(
        LANG="C.UTF-8",
        PYTHONUNBUFFERED="1",
        PIP_CONFIG_FILE="/dev/null",  # the build host's pip.conf must not change builds
        PIP_CACHE_DIR=str(cache_dir / "pip"),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_INPUT="1",
        PIP_PROGRESS_BAR="off",
        PIP_ROOT_USER_ACTION="ignore",
    )
    return env
