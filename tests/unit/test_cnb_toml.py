"""The buildpack's TOML writer and reader, checked against tomllib."""
from __future__ import annotations

import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from buildpack.cnb.toml_text import TomlError, dumps, loads, quote

keys = st.text(min_size=1, max_size=12)
scalars = st.one_of(st.text(max_size=30), st.booleans(), st.integers(-2**63, 2**63 - 1))
values = st.one_of(scalars, st.lists(st.text(max_size=10), max_size=4),
                   st.lists(st.integers(0, 1000), max_size=4))
flat_tables = st.dictionaries(keys, values, max_size=5)
documents = st.dictionaries(keys, st.one_of(values, flat_tables,
                                            st.lists(flat_tables, min_size=1, max_size=3)),
                            max_size=6)


def _scalar_text(text: str) -> str:
    """What a string becomes: lone surrogates cannot be UTF-8 TOML, they become U+FFFD."""
    return "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in text)


def _expected(value):
    if isinstance(value, str):
        return _scalar_text(value)
    if isinstance(value, dict):
        return {_scalar_text(k): _expected(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_expected(v) for v in value]
    return value


@settings(max_examples=300, deadline=None)
@given(documents)
def test_dumps_is_read_back_by_tomllib_and_by_loads(document):
    text = dumps(document)
    expected = _expected(document)
    assert tomllib.loads(text) == expected
    assert loads(text) == expected


@given(st.text())
def test_quote_round_trips(text):
    assert tomllib.loads(f"k = {quote(text)}")["k"] == _scalar_text(text)


def test_arrays_of_tables_and_nesting():
    text = dumps({"processes": [{"type": "web", "command": ["bash", "-c", "gunicorn app:app"],
                                 "default": True}],
                  "or": [{"provides": [{"name": "python"}]}]})
    assert text.startswith('[[processes]]\ntype = "web"\n')
    assert tomllib.loads(text) == loads(text) == {
        "processes": [{"type": "web", "command": ["bash", "-c", "gunicorn app:app"],
                       "default": True}],
        "or": [{"provides": [{"name": "python"}]}]}


def test_reads_what_the_lifecycle_writes_back():
    """Go's encoder: indented keys, floats for integers, multi-line arrays, comments."""
    text = ('# restored\n[metadata]\n  format = 1.0\n  name = \'lit\\eral\'  # comment\n'
            '  files = [\n    "a.txt",\n    "b \\u00e9\\"x\\"",\n  ]\n  big = 1_000\n'
            '  "quoted key" = true\n  dotted.key = -2.5e3\n  inline = {a = 1, b = "c"}\n'
            '\n[metadata.sub]\n  x = false\n')
    assert loads(text) == tomllib.loads(text)


@pytest.mark.parametrize("text", [
    'k = """multi\nline"""', "k = '''x'''", "k = 1979-05-27", "k = 07:32:00", 'k = "open',
    "k = 1 2", "k = [1, 2", "= 1", "k = 0x1f", 'k = "\\q"', "k = 1\nk = 2",
])
def test_unsupported_or_invalid_text_raises(text):
    with pytest.raises(TomlError):
        loads(text)
