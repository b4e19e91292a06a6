"""Slow tests: they run the real tools on this machine's interpreters."""
from __future__ import annotations


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow: runs real builds on this machine (deselect with -m 'not slow')")
