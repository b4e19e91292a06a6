"""Distribution and group names in their one comparable form."""
from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[-_.]+")


def normalize(name: str) -> str:
    """PEP 503 / 685 / 735: lower case, each run of ``-``, ``_`` and ``.`` as one ``-``
    (a package index's project page, a purl, an extra or a dependency group)."""
    return _SEPARATORS.sub("-", name).lower()
