"""Who must act on a failure, for each error id (docs/errors.md has the same column):

- ``user``: the app must change (its files, its config vars);
- ``platform``: the build host, the runtime store, the package index the platform
  provides, or how the platform runs the programs is wrong; the app cannot fix it;
- ``transient``: the network, a server's 5xx, a stalled download, a full disk or memory:
  the same build may succeed when retried. Programs exit with ``EX_TEMPFAIL`` (75, from
  sysexits.h) instead of 1 for these, so a platform can retry without reading the log.

Most areas are wholly the app's; the areas of the build host's programs and of the
runtime store are the platform's; the exceptions are listed by id. The class goes into
``build-report.json`` (``error_class``) beside the id.
"""
from __future__ import annotations

USER, PLATFORM, TRANSIENT = "user", "platform", "transient"
CLASSES = (USER, PLATFORM, TRANSIENT)
EX_TEMPFAIL = 75

# Areas whose ids are all the platform's (unless listed in BY_ID): the programs only a
# platform or its operator runs, the build host, the runtime store and its archives.
PLATFORM_AREAS = frozenset({
    "cnb", "host", "interpreter", "local-deploy", "offline-bundle", "python-runtime",
    "report", "runtime-archive", "runtime-store", "source-build", "source-pins",
    "store-builder", "system", "tools", "url", "usage",
})

BY_ID = {
    # Network, servers, stalls and resources that may clear: retry.
    "build::interrupted": TRANSIENT,  # the platform stopped the build (SIGTERM, Ctrl-C)
    "package-index::unreachable": TRANSIENT,
    "package-manager::tool-download-limit": TRANSIENT,
    "process::timeout": TRANSIENT,
    # After the retries of 5xx answers, timeouts and cut connections ran out. (A 404, 403
    # or missing file is the platform's: python-runtime::archive-not-served,
    # runtime-store::not-served.)
    "python-runtime::download-failed": TRANSIENT,
    "runtime-store::unreadable": TRANSIENT,
    "system::disk-full": TRANSIENT,
    "system::out-of-memory": TRANSIENT,
    "system::too-many-open-files": TRANSIENT,
    # The index or the host the platform provides, in areas that are otherwise the app's.
    "package-manager::tool-install-failed": PLATFORM,
    "pip::install-failed": PLATFORM,
    "pip::no-bundled-pip": PLATFORM,
    "test::bad-timeout": PLATFORM,
    "test::not-built": PLATFORM,
    "test::usage": PLATFORM,
    # The app's own file or setting, in a platform area.
    "local-deploy::no-python-app": USER,
}


def error_class(error_id: str) -> str:
    """``user``, ``platform`` or ``transient`` for ``error_id`` (``area::what``)."""
    if error_id in BY_ID:
        return BY_ID[error_id]
    return PLATFORM if error_id.split("::", 1)[0] in PLATFORM_AREAS else USER


def exit_code(error_id: str) -> int:
    """The exit status of a program that failed with ``error_id``."""
    return EX_TEMPFAIL if error_class(error_id) == TRANSIENT else 1
