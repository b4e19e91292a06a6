"""Recognise the common causes of a failed install.

The installer's output stays in the log as it was (masked); this adds the one-line
summary and the fix for the causes users hit most: the index refusing the
credentials, the index not being reachable, a file not matching its pinned hash, and,
whatever the engine (pip, Pipenv, Poetry, uv), a package built from source that needs a
system library the build image lacks (``SYSTEM_LIBRARIES``), a release whose metadata
current pip rejects (celery 5.2.0's ``pytz>dev``), and the app's own ``setup.py``
failing.

pip reports an index that refused the credentials or could not be reached only in
its verbose output (normally it just finds no versions), so when the output names no
cause, the index URLs of the build's settings are asked directly, once, with their
credentials: a 401/403 or a failed connection is then the cause.
"""
from __future__ import annotations

import os
import re
import signal
import tempfile
import urllib.error
from dataclasses import dataclass
from pathlib import Path

from buildpack.base.http_client import open_url
from buildpack.base.output import BuildError
from buildpack.base.redact import mask_credentials

_CREDENTIALS = re.compile(
    r"\b40[13]\b.*(?:Unauthori[sz]ed|Forbidden)|(?:Unauthori[sz]ed|Forbidden).*\b40[13]\b"
    r"|Missing credentials|Authori[sz]ation error|User for \S+:", re.I)
_UNREACHABLE = re.compile(
    r"Failed to establish a new connection|Connection refused|Name or service not known"
    r"|Temporary failure in name resolution|No route to host|Network is unreachable"
    r"|NameResolutionError|ConnectTimeout|Read timed out|timed out|tcp connect error"
    r"|error sending request|dns error|failed to lookup address", re.I)
_HASH = re.compile(
    r"DO NOT MATCH THE HASHES|Hash mismatch|not found in known hashes|hashes do not match", re.I)

_DISK_FULL = re.compile(r"No space left on device|\[Errno 28\]|Disk quota exceeded", re.I)

INDEX_SETTINGS = ("PIP_INDEX_URL / PIP_EXTRA_INDEX_URL (pip, Pipenv), UV_INDEX_URL, UV_INDEX or\n"
                  "UV_INDEX_<NAME>_USERNAME/_PASSWORD (uv), POETRY_HTTP_BASIC_<SOURCE>_USERNAME/\n"
                  "_PASSWORD (Poetry)")


INDEX_URL_SETTINGS = ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "UV_DEFAULT_INDEX", "UV_INDEX_URL",
                      "UV_INDEX", "UV_EXTRA_INDEX_URL")
PROBE_TIMEOUT = 10


Cause = tuple[str, str, str]  # (summary, body, error id)


def disk_full(where: str) -> Cause:
    return ("The build server's disk is full",
            f"Writing failed with \"No space left on device\" {where}.\n"
            "This is not a problem with the package index or the app's dependencies: the\n"
            "disk that holds the build dir, the cache dir or the temp dir is full. Free\n"
            "space there (or clear the app's build cache), then build again.",
            "system::disk-full")


NEARLY_FULL_BYTES = 64 * 1024 * 1024


def _nearly_full(env: dict[str, str] | None, app_dir: Path | None) -> str:
    """``; nearly full: TMPDIR /tmp/x (0.1 MB free)`` for the folders an installer writes
    to (its temp dir, the app) with less than NEARLY_FULL_BYTES free, else ``""``."""
    folders = {"TMPDIR": (env or {}).get("TMPDIR") or tempfile.gettempdir()}
    if app_dir is not None:
        folders["the app"] = str(app_dir)
    full = []
    for name, folder in folders.items():
        try:
            st = os.statvfs(folder)
        except OSError:
            continue
        free = st.f_bavail * st.f_frsize
        if free < NEARLY_FULL_BYTES:
            full.append(f"{name} {folder} ({free / 1024 / 1024:.1f} MB free)")
    return "; nearly full: " + ", ".join(full) if full else ""


def _refused(where: str) -> Cause:
    return ("The package index refused the credentials",
            f"The index answered 401 or 403:\n    {where}\n"
            "The username, password or token it was given is wrong, expired or lacks\n"
            "access (passwords are masked in this log). Check the config vars that carry\n"
            f"them:\n{INDEX_SETTINGS}.", "package-index::credentials-refused")


def _unreachable(where: str) -> Cause:
    return ("The package index could not be reached",
            f"Connecting to the index failed:\n    {where}\n"
            "Check that the URL is right and that the index is reachable from the build\n"
            f"servers. It is set by\n{INDEX_SETTINGS},\nor by the app's own files.",
            "package-index::unreachable")


def index_urls(env: dict[str, str]) -> list[str]:
    """The index URLs the build's settings name (``UV_INDEX`` entries may be ``name=URL``)."""
    urls = []
    for name in INDEX_URL_SETTINGS:
        for item in env.get(name, "").split():
            url = item.split("=", 1)[1] if re.match(r"^[\w.-]+=", item) else item
            if url.startswith(("http://", "https://")):
                urls.append(url)
    return urls


def probe(url: str) -> Cause | None:
    """Ask the index at ``url`` (credentials from the URL): refused, unreachable or fine."""
    import ssl  # not at import: loaded when a failed install is explained

    shown = mask_credentials(url)
    try:
        open_url(url, PROBE_TIMEOUT).close()  # credentials only to their own origin
    except urllib.error.HTTPError as exc:
        return _refused(shown) if exc.code in (401, 403) else None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, ssl.SSLError):  # a certificate setting pip may have and we lack
            return None
        return _unreachable(f"{shown} ({exc.reason})")
    except (OSError, ValueError) as exc:
        return _unreachable(f"{shown} ({exc})")
    return None


@dataclass(frozen=True)
class SystemLibrary:
    pattern: re.Pattern[str]
    name: str
    debian: str  # the development package(s) on Debian/Ubuntu stacks
    wheels: str = ""  # a package that ships wheels instead, when there is one


def _library(pattern: str, name: str, debian: str, wheels: str = "") -> SystemLibrary:
    return SystemLibrary(re.compile(pattern, re.I), name, debian, wheels)


_NOT_FOUND = r":? (?:command )?not found"
SYSTEM_LIBRARIES = (
    _library(rf"pg_config executable not found|pg_config{_NOT_FOUND}|pg_config is required",
             "the PostgreSQL client library (libpq)", "libpq-dev",
             "psycopg2-binary instead of psycopg2, or psycopg[binary] (psycopg 3)"),
    _library(rf"mysql_config{_NOT_FOUND}|mysql_config not found|Can not find valid pkg-config "
             r"name|MYSQLCLIENT_CFLAGS", "the MySQL/MariaDB client library",
             "default-libmysqlclient-dev and pkg-config", "PyMySQL (pure Python) instead"),
    _library(rf"gdal-config{_NOT_FOUND}|Could not find gdal-config|gdal-config not found",
             "GDAL", "libgdal-dev"),
    _library(r"sqlite3\.h: No such file", "the SQLite library", "libsqlite3-dev"),
    _library(rf"lib(?:xml|xslt)/\S+\.h: No such file|xslt-config{_NOT_FOUND}"
             r"|libxml2 and libxslt development packages", "libxml2 and libxslt",
             "libxml2-dev and libxslt1-dev", "a release of lxml with wheels for this Python"),
    _library(r"ffi\.h: No such file", "libffi", "libffi-dev"),
    _library(r"openssl/\S+\.h: No such file", "OpenSSL", "libssl-dev"),
    _library(rf"krb5-config{_NOT_FOUND}|gssapi/gssapi\.h: No such file", "Kerberos (GSSAPI)",
             "libkrb5-dev"),
    _library(r"(?:ldap|lber|sasl/sasl)\.h: No such file", "OpenLDAP", "libldap2-dev and libsasl2-dev"),
)
_MISSING_HEADER = re.compile(r"fatal error: ([\w/.+-]+\.h): No such file or directory")
# The package being built when it failed: pip, uv, Poetry.
_BUILDING = re.compile(r"(?:Building wheel for|Failed to build|building wheel for|Failed to "
                       r"build wheel for|Installing)\s+['`\"]?([A-Za-z0-9][\w.-]*)")
_INVALID_METADATA = re.compile(
    r"Ignoring version (\S+) of (\S+) since it has invalid metadata|has invalid metadata")


def _building(text: str) -> str:
    found = _BUILDING.findall(text)
    return f" ({found[-1]})" if found else ""


def _missing_library(text: str) -> Cause | None:
    """A package built from source stopped on a missing system library or header."""
    for library in SYSTEM_LIBRARIES:
        match = library.pattern.search(text)
        if match:
            name, debian, wheels, what = library.name, library.debian, library.wheels, match.group(0)
            break
    else:
        header = _MISSING_HEADER.search(text)
        if not header:
            return None
        name, debian, wheels = f"the library that provides {header.group(1)}", "", ""
        what = header.group(0)
    options = []
    if wheels:
        options.append(f"use a package that ships ready-built wheels: {wheels};")
    options.append("pin a release of the package that has a wheel for this Python and stack;")
    get = f"install {debian}" if debian else f"install the package that provides it ({name})"
    options.append(f"{get} on the build image before this buildpack runs (for example with an\n"
                   "    apt buildpack earlier in the chain and an Aptfile that lists it).")
    return (f"a package needs {name}, which the build image does not have",
            f"A package{_building(text)} was built from source and needs the development\n"
            f"files of {name} (the output above stops at: {what.strip()}).\n"
            "Either:\n" + "".join(f"  - {option}\n" for option in options).rstrip("\n"),
            "dependencies::missing-system-library")


def _invalid_metadata(text: str) -> Cause | None:
    match = _INVALID_METADATA.search(text)
    if not match:
        return None
    release = f"{match.group(2)} {match.group(1)}" if match.group(1) else "a release"
    return (f"{release} has metadata that current pip rejects",
            f"{release} declares its dependencies in a form older installers tolerated and\n"
            "current pip (24.1 and later) refuses as invalid (for example celery 5.2.0's\n"
            "`pytz>dev`); the output above shows the offending line. Upgrade to a newer\n"
            "release that fixes its metadata (celery: 5.2.1 or later) in the app's dependency\n"
            "files (and lock again if the app has a lock file).",
            "dependencies::invalid-legacy-metadata")


def _app_build_failed(text: str, app_dir: Path | None) -> Cause | None:
    """The app's own code failed to build (``pip install .``, a uv/Pipenv project entry)."""
    if app_dir is None:
        return None
    where = re.escape(str(app_dir).rstrip("/"))
    if not re.search(rf"Failed to build\s[^\n]*?(?:file://)?{where}/?['`\s]", text + "\n"):
        return None
    script = "setup.py" if (app_dir / "setup.py").is_file() else "build backend"
    return (f"the app's own {script} failed",
            f"Building the app itself failed: its {script} raised an error (the traceback above\n"
            "ends with it), so this is not a problem with a dependency or the index. Run\n"
            "`pip install .` (or `python setup.py --version`) in a fresh checkout of the app to\n"
            "see the same error, fix the app's build code, and push again. A setup.py must not\n"
            "read files that are not committed or config vars that are not set at build time.",
            "dependencies::app-build-failed")


def explain(lines: list[str], env: dict[str, str] | None = None,
            app_dir: Path | None = None) -> Cause | None:
    """(summary, body, error id) for a recognised cause in the output, else from asking the
    indexes of ``env`` (when given), else None. ``app_dir`` lets a failure of the app's own
    build be told apart from a dependency's."""
    text = "".join(lines)
    if _DISK_FULL.search(text):
        return disk_full("(the output above names the file" + _nearly_full(env, app_dir) + ")")
    for cause in (_app_build_failed(text, app_dir), _missing_library(text),
                  _invalid_metadata(text)):
        if cause:
            return cause
    if _CREDENTIALS.search(text):
        return _refused("(the output above names it)")
    if _UNREACHABLE.search(text):
        return _unreachable("(the output above names it)")
    if _HASH.search(text):
        return ("A downloaded file does not match its pinned hash",
                "The file the index served is not the one whose hash the app's dependency\n"
                "files pin (the output above names it and both hashes). Either the index\n"
                "serves a different build of that version, or the pinned hash is wrong:\n"
                "regenerate the hashes from the index you deploy with.",
                "package-index::hash-mismatch")
    for url in index_urls(env or {}):
        found = probe(url)
        if found:
            return found
    return None


def _what_it_said(tool: str, lines: list[str], code: int | None) -> str:
    """Where the tool's own error is: above, or nowhere (the error must not point at
    output that is not in the log)."""
    said = any(line.strip() for line in lines)
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return (f"{tool} was stopped by {name} before it finished"
                + ("; what it printed is shown above." if said else ", and printed nothing.")
                + "\nA build host that runs out of memory, or a platform stopping the build, does this.")
    if not said:
        return f"{tool} exited with status {code if code is not None else 'non-zero'} and printed nothing."
    return "its own error is shown above."


def stale_lock(lock: str, manifest: str, evidence: str, command: str, error_id: str) -> BuildError:
    """The error for a lock file its manifest no longer matches, one shape for every
    package manager: what shows it (``evidence``), and the command that makes it again."""
    return BuildError(
        f"{lock} is out of date",
        f"{lock} does not match {manifest} any more ({evidence}),\n"
        "so it does not say what to install.\n\n"
        f"Run `{command}` and commit the updated {lock}.",
        error_id=error_id)


def install_error(lines: list[str], env: dict[str, str], tool: str, what: str, reproduce: str,
                  hint: str = "", app_dir: Path | None = None, code: int | None = None) -> BuildError:
    """The error for a failed install, naming the recognised cause if there is one.
    ``code``: the tool's exit status (negative: the signal that stopped it)."""
    specific = explain(lines, env, app_dir)
    summary = f"Failed to install the app's dependencies with {tool}"
    generic = (f"{tool} could not install {what}; {_what_it_said(tool, lines, code)}\n"
               f"{hint}Reproduce locally with: {reproduce}")
    if specific:
        return BuildError(f"{summary}: {specific[0][0].lower()}{specific[0][1:]}",
                          f"{specific[1]}\n\n{generic}", error_id=specific[2])
    return BuildError(summary, generic, error_id="dependencies::install-failed")
