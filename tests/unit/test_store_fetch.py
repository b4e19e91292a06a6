"""The store's download loop: what it retries and what it does not."""
from __future__ import annotations

import pytest

from buildpack.base.http_client import FetchError
from buildpack.runtime.store import fetch_file, parse_location


def test_a_failed_write_is_not_retried(tmp_path):
    """Trying again does not free a disk: the first failed write is the answer, at once
    (``FetchError(disk=True)`` is final)."""
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "python.tar.xz").write_bytes(b"x" * 1000)
    retries = []
    dest = tmp_path / "missing-folder" / "python.tar.xz"  # cannot be created: a failed write
    with pytest.raises(FetchError) as err:
        fetch_file(parse_location(str(tmp_path / "store")), "python.tar.xz", dest,
                   on_retry=lambda problem, delay: retries.append(problem))
    assert err.value.disk and err.value.final
    assert retries == []
    assert "cannot write" in str(err.value) and "attempts" not in str(err.value)
