"""Under CI=true a skipped test fails: a missing prerequisite must not hide lost coverage.

Loaded by tests/conftest.py. Locally (CI unset) a test may still skip when this machine
lacks something (root, unshare, a second CPython); CI runs on a machine that has it all.
"""
from __future__ import annotations

import os

import pytest


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    report = yield
    if report.skipped and os.environ.get("CI") == "true" and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"CI=true: a test may not skip for a missing prerequisite: {reason}"
    return report
