from __future__ import annotations

import importlib.util
import marshal
import os
import sys
from pathlib import Path

import pytest

from buildpack.base.redact import mask_credentials, mask_values
from buildpack.runtime import relocate
from buildpack.runtime.relocate import rewrite_script


def test_mask_credentials_in_urls():
    text = "Looking in indexes: https://user:hunter2@pypi.example.test/simple and https://tok3n@h/x"
    masked = mask_credentials(text)
    assert "hunter2" not in masked and "tok3n" not in masked
    assert "https://user:****@pypi.example.test/simple" in masked


def test_mask_values():
    assert mask_values("token abcdef here", ["abcdef", "ab"]) == "token **** here"


PREFIX = "/tmp/build_123/.heroku/python"


def test_rewrite_plain_shebang():
    script = f"#!{PREFIX}/bin/python3.13\nimport sys\nfrom gunicorn.app.wsgiapp import run\n"
    new = rewrite_script(script, PREFIX)
    assert new is not None and PREFIX not in new
    assert new.startswith("#!/bin/sh\n'''exec' \"$(dirname -- \"$(realpath -- \"$0\")\")/python3.13\"")
    assert new.endswith("import sys\nfrom gunicorn.app.wsgiapp import run\n")


def test_rewrite_sh_trampoline_with_long_path():
    script = f"#!/bin/sh\n'''exec' '{PREFIX}/bin/python3.13' \"$0\" \"$@\"\n' '''\nimport sys\n"
    new = rewrite_script(script, PREFIX)
    assert new is not None and PREFIX not in new and new.endswith("' '''\nimport sys\n")


def test_leaves_foreign_scripts_alone():
    assert rewrite_script("#!/usr/bin/env python3\nprint(1)\n", PREFIX) is None
    assert rewrite_script("#!/bin/sh\necho hi\n", PREFIX) is None


@pytest.mark.parametrize("runtime_path", ["/app", None])  # None: a CNB app, built where it runs
def test_app_bytecode_names_the_run_time_path_and_writes_nothing_through_links(tmp_path,
                                                                              runtime_path):
    app, victim = tmp_path / "app", tmp_path / "victim"
    (app / "pkg").mkdir(parents=True)
    victim.mkdir()
    (victim / "secret.py").write_text("TOKEN = 1\n")
    (app / "pkg/mod.py").write_text("X = 1\n")
    (app / "linked.py").symlink_to(victim / "secret.py")
    (app / "sub").mkdir()
    (app / "sub/other.py").write_text("Y = 2\n")
    (app / "sub/__pycache__").symlink_to(victim)
    runtime = runtime_path or str(app)
    relocate.compile_app_bytecode(Path(sys.executable), app, dict(os.environ), runtime)
    assert sorted(p.name for p in victim.iterdir()) == ["secret.py"]
    assert not (app / "__pycache__").exists()  # the linked file is not compiled
    pyc = importlib.util.cache_from_source(str(app / "pkg/mod.py"))
    code = marshal.loads(Path(pyc).read_bytes()[16:])
    assert code.co_filename == f"{runtime}/pkg/mod.py"
