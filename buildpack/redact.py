"""Keep credentials out of the build log."""
from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote

# scheme://user:password@host  ->  scheme://user:****@host
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^\s/:@]+):(?P<secret>[^\s/@]+)@")
# scheme://token@host (a bare token in the user part)
_URL_TOKEN = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<token>[^\s/:@]+)@")


def mask_credentials(text: str) -> str:
    """Replace passwords and tokens embedded in URLs with ``****``."""
    text = _URL_CREDENTIALS.sub(lambda m: f"{m['scheme']}{m['user']}:****@", text)
    return _URL_TOKEN.sub(lambda m: f"{m['scheme']}****@", text)


def mask_values(text: str, secrets: list[str]) -> str:
    """Replace each literal secret value (long enough to be meaningful) with ``****``."""
    for secret in sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, "****")
    return text


def url_secrets(texts: Iterable[str]) -> list[str]:
    """The passwords and tokens inside URLs in ``texts``, as written and percent-decoded.

    A tool may print such a secret without its URL (or decoded), where
    ``mask_credentials`` cannot recognise it; masking these values catches that too.
    """
    found: set[str] = set()
    for text in texts:
        for match in _URL_CREDENTIALS.finditer(text):
            found.update((match["secret"], unquote(match["secret"])))
        for match in _URL_TOKEN.finditer(text):
            found.update((match["token"], unquote(match["token"])))
    return sorted(found)
