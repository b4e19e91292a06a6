"""A failing installer's own output is in the log, where the error says it is (issue 23):
a real PDM run against the test index that fails on a pdm.lock whose pinned hash is wrong."""
from __future__ import annotations

import re

import pytest

from tests import support

pytestmark = pytest.mark.slow


def test_pdm_failure_shows_pdms_own_error_above_the_error_block(tmp_path, package_index, build_env):
    support.ensure_tool_packages()
    python = support.find_prefix("3.13") / "bin" / "python3.13"
    app = support.lock_fixture("pdm-app", tmp_path, package_index.url, python)
    lock = app / "pdm.lock"
    text = lock.read_text()
    spoiled = re.sub(r'(\{url = "[^"]*six-1\.17\.0[^"]*", hash = "sha256:)[0-9a-f]{64}', r"\g<1>" + "0" * 64, text)
    spoiled = re.sub(r'(\{file = "six-1\.17\.0[^"]*", hash = "sha256:)[0-9a-f]{64}', r"\g<1>" + "0" * 64, spoiled)
    assert spoiled != text, "the lock names no six wheel hash"
    lock.write_text(spoiled)
    built = support.compile_app(app, tmp_path / "cache", build_env)
    assert built.returncode == 1, built.log
    out = built.stdout
    start = out.index("       pdm sync --prod")
    said = [line for line in out[start:].splitlines()[1:] if line.strip()]
    assert said, f"nothing from PDM between its step and the error:\n{built.log}"
    assert any(re.search(r"hash|six", line, re.I) for line in said), said
    assert "shown above" in built.stderr
