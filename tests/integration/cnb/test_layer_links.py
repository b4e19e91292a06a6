"""CNB: the python layer and the cache layer share files by links, never copies (issue 20
item 7). A build that cannot bring the python layer up to date (its cache key changed)
links the runtime from the cache layer's unpacked copy: nothing is downloaded or
unpacked, and the layer's interpreter is the cache layer's file."""
from __future__ import annotations

import json

import pytest

from tests import support
from tests.integration.cnb.lifecycle import Lifecycle

pytestmark = pytest.mark.slow


def test_a_fresh_python_layer_links_the_runtime_from_the_cache_layer(tmp_path, runtime_store,
                                                                      package_index):
    store = support.CountingStoreServer(runtime_store)
    try:
        lifecycle = Lifecycle(tmp_path, {"PYTHON_RUNTIME_STORE": store.url,
                                         "PIP_INDEX_URL": package_index.url})
        lifecycle.source(support.FIXTURES / "gunicorn-app")
        first = lifecycle.build()
        assert first.returncode == 0, first.log
        assert "Downloading python-3.11.7" in first.stdout
        downloads = sum(n for path, n in store.counts.items() if path.endswith((".tar.xz", ".tar.gz")))
        assert downloads == 1
        interpreter = lifecycle.layers / "python" / "bin" / "python3.11"
        cached = lifecycle.layers / "cache" / "runtime" / "python" / "bin" / "python3.11"
        assert interpreter.samefile(cached)  # one file: the cache layer links the layer's
        assert "-----> Saving the build cache" in first.stdout

        # An installer setting changes: the python layer is built afresh, its runtime
        # linked from the cache layer.
        lifecycle.prepare_rebuild()
        lifecycle.user_env["PIP_DEFAULT_TIMEOUT"] = "30"
        lifecycle.source(support.FIXTURES / "gunicorn-app")
        second = lifecycle.build()
        assert second.returncode == 0, second.log
        assert "The installer settings (config vars such as PIP_INDEX_URL) changed" in second.stdout
        assert "Using the Python runtime unpacked in the build cache (linked)" in second.stdout
        assert "Downloading python" not in second.stdout
        assert sum(n for path, n in store.counts.items()
                   if path.endswith((".tar.xz", ".tar.gz"))) == downloads
        assert interpreter.samefile(cached)
        body, process, _ = serve(lifecycle)
        process.stop()
        assert json.loads(body)["python_version"] == "3.11.7"
    finally:
        store.stop()


def serve(lifecycle: Lifecycle):
    """Start ``web`` as the launcher does; (its first answer, the process, the port)."""
    port = support.free_port()
    process = lifecycle.launch("web", port)
    try:
        return support.wait_for_http(f"http://127.0.0.1:{port}/", process.proc), process, port
    except BaseException:
        process.stop()
        raise
