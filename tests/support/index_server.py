"""``python index_server.py run ARGS``: pypiserver (its own ``run`` arguments) served by
Paste's threaded server with a listen backlog uv's parallel connections fit in.

``pypi-server --server paste`` keeps Paste's default backlog of 5: uv opens dozens of
connections at once, the kernel drops the SYNs beyond the backlog (``ListenOverflows``
in /proc/net/netstat), and each dropped one is sent again after TCP's 1-second timeout.
That second landed in random test builds and in bench/run's figures, by hand and ours."""
from __future__ import annotations

import sys

import pypiserver
from paste import httpserver
from pypiserver.config import Config

BACKLOG = 1024  # more than uv's 50 parallel downloads, with room for a test's own builds
WORKERS = 16


def main(argv: list[str]) -> None:
    config = Config.from_args(argv)
    app = pypiserver.setup_routes_from_config(pypiserver.app_from_config(config), config)
    httpserver.serve(app, host=config.host, port=str(config.port), use_threadpool=True,
                     threadpool_workers=WORKERS, request_queue_size=BACKLOG)


if __name__ == "__main__":
    main(sys.argv[1:])
