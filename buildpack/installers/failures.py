"""Recognise the common causes of a failed install.

The installer's output stays in the log as it was (masked); this adds the one-line
summary and the fix for the causes users hit most: the index refusing the
credentials, the index not being reachable, a file not matching its pinned hash.

pip reports an index that refused the credentials or could not be reached only in
its verbose output (normally it just finds no versions), so when the output names no
cause, the index URLs of the build's settings are asked directly, once, with their
credentials: a 401/403 or a failed connection is then the cause.
"""
from __future__ import annotations

import base64
import re
import ssl
import urllib.error
import urllib.parse
import urllib.request

from buildpack.output import BuildError
from buildpack.redact import mask_credentials

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

INDEX_SETTINGS = ("PIP_INDEX_URL / PIP_EXTRA_INDEX_URL (pip, Pipenv), UV_INDEX_URL, UV_INDEX or\n"
                  "UV_INDEX_<NAME>_USERNAME/_PASSWORD (uv), POETRY_HTTP_BASIC_<SOURCE>_USERNAME/\n"
                  "_PASSWORD (Poetry)")


INDEX_URL_SETTINGS = ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "UV_DEFAULT_INDEX", "UV_INDEX_URL",
                      "UV_INDEX", "UV_EXTRA_INDEX_URL")
PROBE_TIMEOUT = 10


Cause = tuple[str, str, str]  # (summary, body, error id)


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
    parts = urllib.parse.urlsplit(url)
    shown = mask_credentials(url)
    netloc = parts.hostname or ""
    netloc += f":{parts.port}" if parts.port else ""
    request = urllib.request.Request(urllib.parse.urlunsplit(parts._replace(netloc=netloc)))
    if parts.username is not None:
        user = urllib.parse.unquote(parts.username)
        password = urllib.parse.unquote(parts.password or "")
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        urllib.request.urlopen(request, timeout=PROBE_TIMEOUT).close()
    except urllib.error.HTTPError as exc:
        return _refused(shown) if exc.code in (401, 403) else None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, ssl.SSLError):  # a certificate setting pip may have and we lack
            return None
        return _unreachable(f"{shown} ({exc.reason})")
    except (OSError, ValueError) as exc:
        return _unreachable(f"{shown} ({exc})")
    return None


def explain(lines: list[str], env: dict[str, str] | None = None) -> Cause | None:
    """(summary, body, error id) for a recognised cause in the output, else from asking the
    indexes of ``env`` (when given), else None."""
    text = "".join(lines)
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


def install_error(lines: list[str], env: dict[str, str], tool: str, what: str, reproduce: str,
                  hint: str = "") -> BuildError:
    """The error for a failed install, naming the recognised cause if there is one."""
    specific = explain(lines, env)
    summary = f"Failed to install the app's dependencies with {tool}"
    generic = (f"{tool} could not install {what}; its own error is shown above.\n"
               f"{hint}Reproduce locally with: {reproduce}")
    if specific:
        return BuildError(f"{summary}: {specific[0][0].lower()}{specific[0][1:]}",
                          f"{specific[1]}\n\n{generic}", error_id=specific[2])
    return BuildError(summary, generic, error_id="dependencies::install-failed")
