"""Each Python minor's release and end-of-life dates (``vendor/``), and the rules drawn
from them: the default minor for new apps, and whether a minor may still be used.

**Default.** The newest minor that the runtime store has and whose X.Y.0 release is at
least ``SETTLE_DAYS`` old: a new minor gets time for its first bug-fix releases and for
the packages apps use to publish wheels for it. If the store has no such minor, the
oldest one it has. Minors the end-of-life policy refuses never count.

**End of life** (the same for every version source, the sticky one too):

- within ``EOL_WARNING_DAYS`` before the end-of-life date: a warning that it is coming;
- from the end-of-life date, for ``EOL_GRACE_DAYS``: a warning that it has passed, which
  names the day from which builds fail;
- after that: an error at plan time.

A minor older than any in the table (and Python 2) is refused; one newer than any (a
release this buildpack does not know yet) gets no end-of-life message and is never the
default.
"""
from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from buildpack.base import settings
from buildpack.base.numbers import parse_version

Minor = tuple[int, int]

SETTLE_DAYS = 90
EOL_WARNING_DAYS = 365
EOL_GRACE_DAYS = 180


def minor_text(minor: Minor) -> str:
    return f"{minor[0]}.{minor[1]}"


def _minor(text: str) -> Minor:
    major, minor = parse_version(text, parts=(2,))
    return major, minor


def _dates(table: Mapping[str, str]) -> dict[Minor, datetime.date]:
    return {_minor(k): datetime.date.fromisoformat(v) for k, v in table.items()}


@dataclass(frozen=True)
class Status:
    """Where a minor is in its life: ``supported``, ``ending`` (end of life within
    ``EOL_WARNING_DAYS``), ``grace`` (past its end of life, still built) or ``refused``."""

    kind: str
    end_of_life: datetime.date | None = None
    refused_from: datetime.date | None = None


@dataclass(frozen=True)
class Lifecycle:
    released: Mapping[Minor, datetime.date]
    end_of_life: Mapping[Minor, datetime.date]

    @classmethod
    def from_tables(cls, released: Mapping[str, str], end_of_life: Mapping[str, str]) -> Lifecycle:
        return cls(_dates(released), _dates(end_of_life))

    @classmethod
    def from_vendor(cls) -> Lifecycle:
        return cls.from_tables(settings.release_dates(), settings.eol_dates())

    def status(self, minor: Minor, today: datetime.date) -> Status:
        eol = self.end_of_life.get(minor)
        if eol is None:
            known = min(self.end_of_life, default=(3, 0))
            return Status("refused") if minor < known else Status("supported")
        refused_from = eol + datetime.timedelta(days=EOL_GRACE_DAYS)
        if today >= refused_from:
            kind = "refused"
        elif today >= eol:
            kind = "grace"
        elif (eol - today).days <= EOL_WARNING_DAYS:
            kind = "ending"
        else:
            kind = "supported"
        return Status(kind, eol, refused_from)

    def usable(self, minors: Iterable[Minor], today: datetime.date) -> list[Minor]:
        """The minors the end-of-life policy lets apps build with, newest first."""
        return sorted({m for m in minors if self.status(m, today).kind != "refused"}, reverse=True)

    def settles_on(self, minor: Minor) -> datetime.date | None:
        """The day ``minor`` may become the default (None: its release date is unknown)."""
        released = self.released.get(minor)
        return None if released is None else released + datetime.timedelta(days=SETTLE_DAYS)

    def default_minor(self, available: Iterable[Minor], today: datetime.date) -> Minor | None:
        """The default for an app with no version: see the module docstring."""
        usable = self.usable(available, today)
        settled = [m for m in usable if (day := self.settles_on(m)) is not None and day <= today]
        if settled:
            return settled[0]
        return usable[-1] if usable else None

    def next_default(self, available: Iterable[Minor],
                     today: datetime.date) -> tuple[Minor, datetime.date] | None:
        """The newer minor in ``available`` that becomes the default next, and when."""
        current = self.default_minor(available, today)
        later = [(m, day) for m in self.usable(available, today)
                 if current is not None and m > current and (day := self.settles_on(m)) is not None]
        return min(later, key=lambda item: item[1]) if later else None


def default_for_new_apps(today: datetime.date | None = None) -> str:
    """The default minor among every minor the buildpack knows (``3.14``): what a store
    should hold first (a bare machine builds it from source); a build uses the store's."""
    lifecycle = Lifecycle.from_vendor()
    minor = lifecycle.default_minor(lifecycle.released, today or datetime.date.today())
    if minor is None:
        raise RuntimeError("vendor/python-releases.json names no minor that may still be used")
    return minor_text(minor)
