"""Keep credentials out of the build log: the one place masking is decided.

``output`` passes every line it writes through ``mask``, so whatever path a value takes
to the log (a step, a warning, an error, an installer's output) it is masked. What is
masked:

- the userinfo of every URL in the text (``https://user:****@host``, ``https://****@host``),
  also when the password holds an ``@``;
- every value ``register`` was given, in every form the log may show it: as it is,
  each line of a multi-line value, JSON-escaped, percent-encoded (``quote`` with and
  without ``/``, ``quote_plus``) and percent-decoded.

``secrets_of_config`` decides which config values are secret: every value of a
variable whose name hints at a secret (``SECRET_HINTS``); the userinfo of every URL in
any value (``DATABASE_URL``'s password); and any other value that looks like a token
(16+ characters, no spaces, letters and digits: ``GITHUB_PAT``). Values shorter than 4
characters are never masked (they would mangle the log and protect nothing).
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote, quote_plus, unquote

MASK = "****"
MIN_LENGTH = 4
SECRET_HINTS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "PASS", "PWD", "CREDENTIAL",
                "AUTH", "PAT", "PRIVATE", "CERT", "SIGNATURE", "SALT", "COOKIE", "SESSION")

_SCHEME = r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]{0,31}://)"
# scheme://user:password@host  ->  scheme://user:****@host. The password runs to the
# last "@" before the next "/" (passwords with "@" are common; one with "/" cannot be
# told from a path, which is why registered values are masked as well).
_URL_CREDENTIALS = re.compile(_SCHEME + r"(?P<user>[^\s/:@]*):(?P<secret>[^\s/]*)@")
# scheme://token@host (a bare token in the user part)
_URL_TOKEN = re.compile(_SCHEME + r"(?P<token>[^\s/:@]+)@")
_TOKEN_LIKE = re.compile(r"^(?=.*[A-Za-z])(?=.*\d)\S{16,}$")

_registered: set[str] = set()
_pattern: re.Pattern[str] | None = None


def mask_credentials(text: str) -> str:
    """Replace passwords and tokens embedded in URLs with ``****``."""
    text = _URL_CREDENTIALS.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    return _URL_TOKEN.sub(lambda m: f"{m['scheme']}{MASK}@", text)


def forms(secret: str) -> set[str]:
    """``secret`` in every encoding the log may show it in."""
    found = {secret, secret.strip()}
    found.update(line.strip() for line in secret.splitlines())
    for value in list(found):
        found.update((json.dumps(value)[1:-1], quote(value), quote(value, safe=""),
                      quote_plus(value), unquote(value)))
    return {f for f in found if len(f) >= MIN_LENGTH}


def mask_values(text: str, secrets: Iterable[str]) -> str:
    """Replace each literal secret value (and its encodings) with ``****``."""
    values = set().union(*(forms(s) for s in secrets)) if secrets else set()
    for value in sorted(values, key=len, reverse=True):
        text = text.replace(value, MASK)
    return text


def url_secrets(texts: Iterable[str]) -> list[str]:
    """The passwords and tokens inside URLs in ``texts``, as written and percent-decoded.

    For a password that holds ``@`` or ``/``, every candidate end (each later ``@``) is
    included: masking a little too much is better than showing the rest of a password.
    """
    found: set[str] = set()
    for text in texts:
        for match in re.finditer(_SCHEME + r"(?P<rest>\S+)", text):
            rest = match["rest"]
            ats = [i for i, ch in enumerate(rest) if ch == "@"]
            for at in ats:
                userinfo = rest[:at]
                user, sep, password = userinfo.partition(":")
                if "/" not in user:  # else the "@" is in a path, not after userinfo
                    secret = password if sep else user
                    found.update((secret, unquote(secret)))
    return sorted(s for s in found if len(s) >= MIN_LENGTH)


def secrets_of_config(config: Mapping[str, str]) -> list[str]:
    """The config values (and parts of values) to mask; see the module docstring."""
    found = set(url_secrets(config.values()))
    for name, value in config.items():
        if any(hint in name.upper() for hint in SECRET_HINTS):
            found.add(value)
        elif _TOKEN_LIKE.match(value.strip()) and "://" not in value \
                and not value.startswith(("/", "./", "~")):
            found.add(value)
    return sorted(s for s in found if len(s.strip()) >= MIN_LENGTH)


def register(secrets: Iterable[str]) -> None:
    """Mask ``secrets`` (in all their forms) in everything written to the log from now on."""
    global _pattern
    new = set().union(*(forms(s) for s in secrets)) if secrets else set()
    if new - _registered:
        _registered.update(new)
        ordered = sorted(_registered, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(s) for s in ordered))


def mask(text: str) -> str:
    """``text`` with URL credentials and every registered secret masked."""
    if _pattern is not None:  # first: a registered password may hold "@" or "/"
        text = _pattern.sub(MASK, text)
    return mask_credentials(text)
