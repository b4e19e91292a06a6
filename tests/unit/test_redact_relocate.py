from __future__ import annotations

from buildpack.redact import mask_credentials, mask_values
from buildpack.relocate import rewrite_script


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
