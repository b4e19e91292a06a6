"""The environment the build's subprocesses (pip, the app's Python) run with.

Built from scratch rather than inherited, so that a config var such as LD_PRELOAD,
PYTHONHOME or PYTHONPATH (or a build host's pip.conf) cannot change the build. Only
the variables of ``INSTALLER_ALLOWLIST`` pass through, from the platform's environment
or the app's config vars (the latter win): the network settings below and the config vars
each package manager's record accepts (``installers.managers``). Each package manager
adds its own fixed settings on top (see ``buildpack/installers``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from buildpack.base import trust
from buildpack.cache import layout
from buildpack.installers.managers import MANAGERS

# From the build host: what programs need to run at all.
HOST_PASSTHROUGH = ("PATH", "TMPDIR", "STACK", "SOURCE_DATE_EPOCH")


@dataclass(frozen=True)
class Allowlist:
    """Variable names allowed through: exact ``names`` and ``patterns`` (full-match regexes)."""

    names: tuple[str, ...]
    patterns: tuple[str, ...] = ()

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (
            name in self.names or any(re.fullmatch(p, name) for p in self.patterns))


# Config vars a requirements file may name as ``${NAME}`` (pip expands them itself, e.g.
# ``git+https://${GITHUB_TOKEN}@github.com/org/lib``; the values are masked in the log):
# names ending in _TOKEN, _PAT, _USERNAME, _USER or _PASSWORD, except the installers' own
# prefixes (PIP_, UV_, POETRY_, PIPENV_: those configure the tools, see the records).
REQUIREMENT_VARS = r"(?!(?:PIP|UV|POETRY|PIPENV)_)[A-Z][A-Z0-9_]*_(?:TOKEN|PAT|USERNAME|USER|PASSWORD)"

# Network settings (proxies, CA certificates), for every installer.
NETWORK_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
                "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE")

# Installer and network settings an app or platform may set (documented in README).
INSTALLER_ALLOWLIST = Allowlist(
    names=tuple(dict.fromkeys(
        [name for m in MANAGERS for name in m.config_vars] + list(NETWORK_VARS))),
    patterns=(*(p for m in MANAGERS for p in m.config_patterns), REQUIREMENT_VARS),
)


def installer_settings(environ: dict[str, str], config: dict[str, str]) -> dict[str, str]:
    """The allowed installer settings, from the platform's environment and the config vars
    (which win); empty values are left out."""
    found: dict[str, str] = {}
    for source in (environ, config):
        found.update({name: value.strip() for name, value in source.items()
                      if name in INSTALLER_ALLOWLIST and value.strip()})
    return found


def build_env(environ: dict[str, str], config: dict[str, str], python_bin: Path,
              cache_dir: Path) -> dict[str, str]:
    """Environment for running the app's Python and its installers during the build."""
    env = {name: environ[name] for name in HOST_PASSTHROUGH if name in environ}
    env.update(installer_settings(environ, config))
    env.update(trust.installer_settings(env))
    env["PATH"] = f"{python_bin}:{env.get('PATH', '/usr/local/bin:/usr/bin:/bin')}"
    # What links against libpython (uWSGI's build, an app's own C code) finds the runtime's,
    # as at run time (profile_d.LIBRARY_PATHS); the host's values do not pass.
    env["LD_LIBRARY_PATH"] = env["LIBRARY_PATH"] = str(python_bin.parent / "lib")
    env.update(
        LANG="C.UTF-8",
        PYTHONUNBUFFERED="1",
        PIP_CONFIG_FILE="/dev/null",  # the build host's pip.conf must not change builds
        PIP_CACHE_DIR=str(cache_dir / layout.PIP),
        # Not the build user's home: programs on the host's PATH write there (pip runs
        # `rustc --version` for its user agent; rustup then creates ~/.rustup), and the
        # build writes only to BUILD_DIR, CACHE_DIR and temp.
        HOME=str(cache_dir / layout.HOME),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_INPUT="1",
        PIP_PROGRESS_BAR="off",
        PIP_ROOT_USER_ACTION="ignore",
        # Editable VCS requirements (-e git+...) are cloned here, inside the runtime,
        # rather than into a src/ folder of the app.
        PIP_SRC=str(python_bin.parent / "src"),
    )
    return env
