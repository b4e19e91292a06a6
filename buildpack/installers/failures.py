"""Recognise the common causes of a failed install in an installer's own output.

The installer's output stays in the log as it was (masked); this adds the one-line
summary and the fix for the causes users hit most: the index refusing the
credentials, the index not being reachable, a file not matching its pinned hash.
"""
from __future__ import annotations

import re

from buildpack.output import BuildError

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


def explain(lines: list[str]) -> tuple[str, str] | None:
    """(summary, body) for a recognised cause, else None."""
    text = "".join(lines)
    if _CREDENTIALS.search(text):
        return ("The package index refused the credentials",
                "The index answered 401/403: the username, password or token it was given is\n"
                "wrong, expired or lacks access (the output above names the URL, with the\n"
                "password masked). Check the config vars that carry them:\n"
                f"{INDEX_SETTINGS}.")
    if _UNREACHABLE.search(text):
        return ("The package index could not be reached",
                "Connecting to the index failed (the output above names the address). Check\n"
                "that its URL is right and that it is reachable from the build servers; it is\n"
                f"set by {INDEX_SETTINGS},\nor by the app's own files.")
    if _HASH.search(text):
        return ("A downloaded file does not match its pinned hash",
                "The file the index served is not the one whose hash the app's dependency\n"
                "files pin (the output above names it and both hashes). Either the index\n"
                "serves a different build of that version, or the pinned hash is wrong:\n"
                "regenerate the hashes from the index you deploy with.")
    return None


def install_error(lines: list[str], tool: str, what: str, reproduce: str,
                  hint: str = "") -> BuildError:
    """The error for a failed install, naming the recognised cause if there is one."""
    specific = explain(lines)
    summary = f"Failed to install the app's dependencies with {tool}"
    generic = (f"{tool} could not install {what}; its own error is shown above.\n"
               f"{hint}Reproduce locally with: {reproduce}")
    if specific:
        return BuildError(f"{summary}: {specific[0][0].lower()}{specific[0][1:]}",
                          f"{specific[1]}\n\n{generic}")
    return BuildError(summary, generic)
