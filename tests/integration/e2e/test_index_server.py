"""The test index takes uv's parallel connections without dropping any (a dropped SYN is
sent again after a second: builds stalled at random, and bench/run measured it)."""
from __future__ import annotations

import subprocess
import urllib.parse

from tests.support.index_server import BACKLOG


def test_index_listens_with_a_backlog_for_uv_parallel_connections(package_index) -> None:
    port = urllib.parse.urlsplit(package_index.url).port
    found = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True,
                           check=True, timeout=30).stdout.split()
    assert int(found[2]) == BACKLOG >= 100, found  # Send-Q of a listening socket: its backlog
