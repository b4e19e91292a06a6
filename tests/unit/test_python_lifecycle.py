"""The default-version rule and the end-of-life policy, from vendor data."""
from __future__ import annotations

import datetime
import json

import pytest

from buildpack.base import settings
from buildpack.python_version.python_lifecycle import EOL_GRACE_DAYS, SETTLE_DAYS, Lifecycle, default_for_new_apps

D = datetime.date
TODAY = D(2026, 11, 30)  # the day the rule was chosen: 3.15.0 is 60 days old
VENDOR = Lifecycle.from_vendor()
STORE = {(3, 11), (3, 12), (3, 13), (3, 14), (3, 15)}


def test_vendor_tables_are_sourced_and_cover_each_other():
    for name in ("python-releases.json", "python-eol.json"):
        data = json.loads((settings.VENDOR_DIR / name).read_text())
        assert "PEP" in data["source"]
    assert set(settings.release_dates()) == set(settings.eol_dates())
    assert VENDOR.released[(3, 14)] == D(2025, 10, 7)
    assert VENDOR.released[(3, 15)] == D(2026, 10, 1)
    for minor, released in VENDOR.released.items():
        assert released < VENDOR.end_of_life[minor]


def test_default_today_is_314_not_the_unsettled_315():
    assert VENDOR.default_minor(STORE, TODAY) == (3, 14)
    assert VENDOR.next_default(STORE, TODAY) == ((3, 15), D(2026, 10, 1) + datetime.timedelta(SETTLE_DAYS))


def test_default_moves_once_the_new_minor_settled():
    settles = VENDOR.settles_on((3, 15))
    assert VENDOR.default_minor(STORE, settles - datetime.timedelta(days=1)) == (3, 14)
    assert VENDOR.default_minor(STORE, settles) == (3, 15)
    assert VENDOR.next_default(STORE, settles) is None


def test_default_only_from_what_the_store_has():
    assert VENDOR.default_minor({(3, 11), (3, 13)}, TODAY) == (3, 13)
    assert VENDOR.default_minor({(3, 15)}, TODAY) == (3, 15)  # nothing settled: the oldest it has
    assert VENDOR.default_minor({(3, 15), (3, 16)}, TODAY) == (3, 15)
    assert VENDOR.default_minor({(3, 8), (3, 9)}, TODAY) is None  # both refused
    assert VENDOR.default_minor(set(), TODAY) is None


def test_unknown_new_minor_is_never_the_default():
    assert VENDOR.default_minor({(3, 14), (3, 16)}, D(2028, 1, 1)) == (3, 14)


@pytest.mark.parametrize("minor, today, kind", [
    ((3, 14), TODAY, "supported"),
    ((3, 11), TODAY, "ending"),                # EOL 2027-10-31: within a year
    ((3, 11), D(2026, 10, 30), "supported"),
    ((3, 10), TODAY, "grace"),                 # EOL 2026-10-31: a month ago
    ((3, 10), D(2026, 10, 31), "grace"),
    ((3, 10), D(2026, 10, 31) + datetime.timedelta(EOL_GRACE_DAYS - 1), "grace"),
    ((3, 10), D(2026, 10, 31) + datetime.timedelta(EOL_GRACE_DAYS), "refused"),
    ((3, 9), TODAY, "refused"),
    ((3, 5), TODAY, "refused"),                # older than the table
    ((2, 7), TODAY, "refused"),
    ((3, 16), TODAY, "supported"),             # newer than the table: unknown, allowed
])
def test_end_of_life_policy(minor, today, kind):
    assert VENDOR.status(minor, today).kind == kind


def test_refusal_date_follows_end_of_life():
    status = VENDOR.status((3, 10), TODAY)
    assert status.end_of_life == D(2026, 10, 31)
    assert status.refused_from == D(2026, 10, 31) + datetime.timedelta(EOL_GRACE_DAYS)


def test_usable_drops_refused_minors():
    assert VENDOR.usable({(3, 9), (3, 10), (3, 14)}, TODAY) == [(3, 14), (3, 10)]


def test_default_for_new_apps_among_every_known_minor():
    assert default_for_new_apps(TODAY) == "3.14"
    assert default_for_new_apps(D(2027, 1, 1)) == "3.15"
