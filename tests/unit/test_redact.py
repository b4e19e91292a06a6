"""Masking (issue 15, class 3): every config value and URL userinfo, in every encoding."""
from __future__ import annotations

import json
from urllib.parse import quote, quote_plus

import pytest

from buildpack.base import output, redact


@pytest.fixture(autouse=True)
def fresh_registry(monkeypatch):
    monkeypatch.setattr(redact, "_registered", set())
    monkeypatch.setattr(redact, "_pattern", None)


CONFIG = {
    "DATABASE_URL": "postgres://app:p@ss/w0rd!x@db.example.test:5432/app",
    "GITHUB_PAT": "ghp_abcdEFGH1234ijkl5678mnop",
    "SSH_PRIVATE_KEY": "-----BEGIN KEY-----\nMIIEabcdefghij\nqrstuvwxyz1234\n-----END KEY-----\n",
    "PIP_INDEX_URL": "https://deploy:s3cr@t!@idx.example.test/simple",
    "SHORT_SECRET": "h7Qz",
    "DEBUG": "true",
    "DJANGO_SETTINGS_MODULE": "mysite.settings.production",
}
SECRETS = ["p@ss/w0rd!x", "ghp_abcdEFGH1234ijkl5678mnop", "MIIEabcdefghij", "qrstuvwxyz1234",
           "s3cr@t!", "h7Qz"]


def _log(capsys, lines):
    redact.register(redact.secrets_of_config(CONFIG))
    for line in lines:
        output.detail(line)
        output.warning("w", line)
    out = capsys.readouterr()
    return out.out + out.err


@pytest.mark.parametrize("encode", [
    lambda s: s, lambda s: json.dumps(s)[1:-1], lambda s: quote(s, safe=""), quote, quote_plus,
    lambda s: f"https://user:{s}@host.example.test/x", lambda s: f"https://{quote(s, safe='')}@h/x",
])
def test_every_secret_in_every_encoding(capsys, encode):
    log = _log(capsys, [f"before {encode(s)} after" for s in SECRETS]
               + [encode(CONFIG["SSH_PRIVATE_KEY"])])
    for secret in SECRETS:
        for form in {secret, json.dumps(secret)[1:-1], quote(secret, safe=""), quote_plus(secret)}:
            assert form not in log, (form, log)
    assert "before" in log and "after" in log


def test_non_secrets_stay_readable(capsys):
    log = _log(capsys, ["DEBUG is true", "settings mysite.settings.production",
                        "Looking in indexes: https://idx.example.test/simple"])
    assert "DEBUG is true" in log and "mysite.settings.production" in log
    assert "https://idx.example.test/simple" in log


@pytest.mark.parametrize("url, secret", [
    ("https://user:p@ss@host.example.test/simple", "p@ss"),
    ("https://user:a@b@c@host.example.test/", "a@b@c"),
    ("https://tok3nvalue@host.example.test/", "tok3nvalue"),
    ("git+https://user:t0kenvalue@host.example.test/org/repo.git@main#egg=x", "t0kenvalue"),
    ("https://user:pw%2Fwith%40chars@host.example.test/", "pw%2Fwith%40chars"),
])
def test_url_userinfo_is_masked_without_registration(url, secret):
    assert secret not in redact.mask(f"pip: {url} failed")


def test_url_userinfo_with_slash_is_masked_once_known():
    value = "https://user:pa/ss0rd@host.example.test/simple"
    redact.register(redact.url_secrets([value]))
    assert "pa/ss0rd" not in redact.mask(f"cannot fetch {value}")


def test_control_characters_are_escaped(capsys):
    output.detail("name \x1b[2J\x07 end")
    assert "\x1b" not in capsys.readouterr().out
