"""The Procfile parser: accepted forms, every error, and properties over random input."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from buildpack.app.procfile import ProcfileError, decode_procfile, load_procfile, parse_procfile, show_line
from buildpack.base.output import BuildError, notice_block
from tests.support import raises_id


def error_of(text: str) -> ProcfileError:
    with pytest.raises(ProcfileError) as info:
        parse_procfile(text)
    return info.value


# --- accepted forms -------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("web: gunicorn app:app", {"web": "gunicorn app:app"}),
    ("web: gunicorn app:app\n", {"web": "gunicorn app:app"}),
    ("web:gunicorn app:app", {"web": "gunicorn app:app"}),
    ("web:    gunicorn   app:app   ", {"web": "gunicorn   app:app"}),
    ("web:\tgunicorn\tapp:app\t", {"web": "gunicorn\tapp:app"}),
    ("  web: x", {"web": "x"}),
    ("\tweb: x", {"web": "x"}),
    ("web: gunicorn -b 0.0.0.0:$PORT app:create_app()", {"web": "gunicorn -b 0.0.0.0:$PORT app:create_app()"}),
    ("web: a:b:c::d:", {"web": "a:b:c::d:"}),
    ("web: python -c 'print(\"a: b\")'", {"web": "python -c 'print(\"a: b\")'"}),
    ("worker: celery -A proj worker  # the queue", {"worker": "celery -A proj worker  # the queue"}),
    ("web: echo a#b", {"web": "echo a#b"}),
    ("Web_2-x: run", {"Web_2-x": "run"}),
    ("1: run", {"1": "run"}),
    ("-: run", {"-": "run"}),
    ("web: echo héllo wörld ✓", {"web": "echo héllo wörld ✓"}),
    ("", {}),
    ("\n\n\n", {}),
    ("# only a comment\n", {}),
])
def test_accepts(text: str, expected: dict[str, str]) -> None:
    assert parse_procfile(text) == expected


def test_keeps_file_order() -> None:
    text = "worker: w\nweb: a\nclock: c\nrelease: r\n"
    assert list(parse_procfile(text)) == ["worker", "web", "clock", "release"]


def test_comments_and_blank_lines_are_ignored() -> None:
    text = (
        "# a comment\n"
        "   # an indented comment with web: inside\n"
        "#web: disabled\n"
        "\n"
        "   \t  \n"
        "web: gunicorn app:app\n"
        "\n"
        "# <<<<<<< not a marker inside a comment\n"
        "worker: python worker.py\n"
    )
    assert parse_procfile(text) == {"web": "gunicorn app:app", "worker": "python worker.py"}


def test_crlf_line_endings() -> None:
    text = "web: gunicorn app:app\r\nworker: python w.py\r\n\r\n# c\r\n"
    assert parse_procfile(text) == {"web": "gunicorn app:app", "worker": "python w.py"}


def test_crlf_line_numbers_in_errors() -> None:
    assert error_of("web: a\r\n\r\nbad line\r\n").line_number == 3


def test_utf8_bom() -> None:
    assert parse_procfile("\ufeffweb: gunicorn app:app\n") == {"web": "gunicorn app:app"}
    assert parse_procfile("\ufeff# comment\nweb: x") == {"web": "x"}


def test_no_trailing_newline() -> None:
    assert parse_procfile("web: a\nworker: b") == {"web": "a", "worker": "b"}


def test_only_lf_splits_lines() -> None:
    """Form feed, U+2028 and friends are not line breaks to an editor or a shell."""
    assert parse_procfile("web: a\u2028b\x0cc\n") == {"web": "a\u2028b\x0cc"}
    assert error_of("web: a\nworker: b\u2028\nx\n").line_number == 3


def test_ten_thousand_lines() -> None:
    """A long Procfile parses whole (its speed is not asserted: timed tests fail on a loaded machine)."""
    lines = []
    for i in range(10_000):
        if i % 5 == 0:
            lines.append(f"# comment {i}")
        elif i % 7 == 0:
            lines.append("")
        else:
            lines.append(f"proc{i}: python -m worker --queue q{i}:high  # note")
    text = "\r\n".join(lines)
    result = parse_procfile(text)
    assert len(result) == sum(1 for line in lines if line.startswith("proc"))
    assert result["proc1"] == "python -m worker --queue q1:high  # note"


def test_error_late_in_a_long_file() -> None:
    text = "".join(f"p{i}: run {i}\n" for i in range(9_999)) + "p5: again\n"
    err = error_of(text)
    assert err.line_number == 10_000
    assert "line 6" in err.problem


# --- errors ---------------------------------------------------------------------------

@pytest.mark.parametrize("line", [
    "web : gunicorn app:app",
    "web\t: gunicorn app:app",
    "  web  :x",
])
def test_space_between_name_and_colon(line: str) -> None:
    err = error_of(f"# c\n{line}\n")
    assert err.line_number == 2
    assert err.line == line
    assert err.error_id == "procfile::space-before-colon"
    assert "space between the process type `web` and the colon" in err.problem
    assert "`web:`" in err.fix


def test_line_without_colon() -> None:
    err = error_of("web: a\ngunicorn app\n")
    assert (err.line_number, err.line) == (2, "gunicorn app")
    assert err.error_id == "procfile::missing-colon"
    assert "no colon" in err.problem
    assert "web: gunicorn app" in err.fix


def test_command_without_process_type() -> None:
    err = error_of("gunicorn --bind 0.0.0.0:$PORT app:app")
    assert err.line_number == 1
    assert err.error_id == "procfile::invalid-type"
    assert "`gunicorn --bind 0.0.0.0`" in err.problem
    assert "web: gunicorn --bind 0.0.0.0:$PORT app:app" in err.fix


@pytest.mark.parametrize("line, shown", [
    ("w.eb: x", "w.eb"),
    ("wéb: x", "wéb"),
    ("web/1: x", "web/1"),
    ("$web: x", "$web"),
    ("-web-\x07: x", "-web-\\x07"),
])
def test_invalid_name(line: str, shown: str) -> None:
    err = error_of(line)
    assert err.line_number == 1
    assert f"`{shown}`" in err.problem
    assert err.error_id == "procfile::invalid-type"
    assert "letters" in err.problem


def test_missing_name() -> None:
    err = error_of("web: a\n  : x\n")
    assert err.line_number == 2
    assert err.error_id == "procfile::missing-type"
    assert "no process type before the colon" in err.problem


@pytest.mark.parametrize("line", ["web:", "web:   ", "web:\t", "web:\r"])
def test_empty_command(line: str) -> None:
    err = error_of(f"worker: w\n{line}\n")
    assert err.line_number == 2
    assert err.error_id == "procfile::missing-command"
    assert "`web` has no command" in err.problem


def test_nul_character() -> None:
    err = error_of("web: a\nworker: b\x00c\n")
    assert err.line_number == 2
    assert err.error_id == "procfile::nul-character"
    assert "NUL" in err.problem
    assert "\\x00" in err.body


def test_command_that_is_a_comment() -> None:
    err = error_of("web: # gunicorn app:app")
    assert err.error_id == "procfile::command-is-comment"
    assert "starts with `#`" in err.problem


def test_duplicate_type_names_both_lines() -> None:
    err = error_of("web: a\nworker: w\n\nweb: b\n")
    assert err.line_number == 4
    assert err.line == "web: b"
    assert err.error_id == "procfile::duplicate-type"
    assert "on line 1 and again on line 4" in err.problem


def test_duplicate_is_case_sensitive() -> None:
    assert parse_procfile("web: a\nWeb: b") == {"web": "a", "Web": "b"}


@pytest.mark.parametrize("marker", [
    "<<<<<<< HEAD", "=======", ">>>>>>> feature-branch", "<<<<<<< ours", "||||||| base",
])
def test_merge_conflict_markers(marker: str) -> None:
    text = f"web: a\n{marker}\nweb: b\n"
    err = error_of(text)
    assert err.line_number == 2
    assert err.error_id == "procfile::conflict-marker"
    assert "merge-conflict marker" in err.problem
    assert "Resolve the merge conflict" in err.fix


def test_full_merge_conflict_reports_the_first_marker() -> None:
    text = "<<<<<<< HEAD\nweb: gunicorn a:app\n=======\nweb: gunicorn b:app\n>>>>>>> main\n"
    assert error_of(text).line_number == 1


def test_long_line_is_truncated_in_messages() -> None:
    line = "x" * 500
    err = error_of(line)
    assert err.line == line
    assert len(show_line(err.line)) == 80
    assert show_line(err.line).endswith("...")
    assert line not in str(err)
    assert line not in err.body
    assert "x" * 77 + "..." in str(err)


def test_show_line_escapes_control_characters() -> None:
    assert show_line("a\tb\x00c") == "a\\tb\\x00c"
    assert show_line("héllo") == "héllo"


def test_error_is_a_value_error_and_a_build_error() -> None:
    err = error_of("nope")
    assert isinstance(err, ValueError)
    assert isinstance(err, BuildError)
    assert str(err).startswith("Procfile line 1: ")
    assert '"nope"' in str(err)


# --- the error block ------------------------------------------------------------------

def test_build_error_format() -> None:
    build_error = error_of("web: a\nweb gunicorn app\n")
    assert isinstance(build_error, BuildError)  # shown as an error block wherever it is raised
    assert build_error.summary == "Invalid Procfile (line 2)"
    body = build_error.body
    assert "Line 2 of the Procfile is:\n\n    web gunicorn app\n" in body
    assert "no colon" in body
    assert "    web: gunicorn app:app" in body
    assert body.rstrip().endswith("start it with `#`.")


def test_build_error_lines_fit_the_log() -> None:
    build_error = error_of("web: a\nweb: b\n")
    block = notice_block("Error", build_error.summary, build_error.body)
    assert block.startswith(" !     Error: Invalid Procfile (line 2).\n")
    assert all(len(line) <= 80 for line in block.splitlines())


# --- bytes and files ------------------------------------------------------------------

def test_decode_utf8() -> None:
    assert decode_procfile("web: echo ✓\n".encode()) == "web: echo ✓\n"


def test_decode_latin1_names_the_line_and_byte() -> None:
    with pytest.raises(ProcfileError) as info:
        decode_procfile(b"web: a\n# caf\xe9\nworker: b\n")
    err = info.value
    assert err.line_number == 2
    assert err.line == "# caf\\xe9"
    assert "UTF-8" in err.problem and "0xe9" in err.problem
    assert err.summary == "Invalid Procfile (line 2)"


@pytest.mark.parametrize("data", [
    "web: gunicorn app:app\r\n".encode("utf-16"),
    "web: gunicorn app:app\r\n".encode("utf-16-le"),
    "web: gunicorn app:app\r\n".encode("utf-16-be"),
])
def test_decode_utf16(data: bytes) -> None:
    with pytest.raises(ProcfileError) as info:
        decode_procfile(data)
    assert info.value.error_id == "procfile::not-utf8"
    assert "UTF-16" in info.value.problem
    assert info.value.line_number == 1


def test_load_missing(tmp_path: Path) -> None:
    assert load_procfile(tmp_path) is None


def test_load_ok(tmp_path: Path) -> None:
    (tmp_path / "Procfile").write_bytes(b"\xef\xbb\xbfweb: gunicorn app:app\r\n")
    assert load_procfile(tmp_path) == {"web": "gunicorn app:app"}


def test_load_empty_file(tmp_path: Path) -> None:
    (tmp_path / "Procfile").write_text("")
    assert load_procfile(tmp_path) == {}


def test_load_lowercase_name_is_not_a_procfile(tmp_path: Path) -> None:
    (tmp_path / "procfile").write_text("web: x\n")
    if (tmp_path / "Procfile").exists():  # case-insensitive file system
        pytest.skip("case-insensitive file system")
    assert load_procfile(tmp_path) is None


def test_load_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "Procfile").write_bytes(b"web: caf\xe9\n")
    with pytest.raises(ProcfileError) as info:
        load_procfile(tmp_path)
    assert "UTF-8" in info.value.body


def test_load_parse_error(tmp_path: Path) -> None:
    (tmp_path / "Procfile").write_text("web: a\nweb: b\n")
    with pytest.raises(ProcfileError) as info:
        load_procfile(tmp_path)
    assert info.value.line_number == 2


def test_load_directory(tmp_path: Path) -> None:
    (tmp_path / "Procfile").mkdir()
    with raises_id("app-file::not-regular") as info:
        load_procfile(tmp_path)
    assert not isinstance(info.value, ProcfileError)
    assert "directory" in info.value.body


def test_load_symlink(tmp_path: Path) -> None:
    (tmp_path / "procs.txt").write_text("web: x\n")
    (tmp_path / "Procfile").symlink_to("procs.txt")
    assert load_procfile(tmp_path) == {"web": "x"}


def test_load_broken_symlink(tmp_path: Path) -> None:
    (tmp_path / "Procfile").symlink_to("missing")
    with raises_id("app-file::not-regular") as info:
        load_procfile(tmp_path)
    assert "does not exist" in info.value.body


# --- properties -----------------------------------------------------------------------

names = st.from_regex(r"[A-Za-z0-9_-]{1,20}", fullmatch=True)
commands = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\x00"),
    min_size=1, max_size=60,
).map(str.strip).filter(lambda c: c and not c.startswith("#"))
process_maps = st.dictionaries(names, commands, max_size=8)


def render(types: dict[str, str], sep: str, newline: str, bom: bool) -> str:
    body = newline.join(f"{name}:{sep}{command}" for name, command in types.items())
    return ("\ufeff" if bom else "") + body


@settings(max_examples=150, deadline=None, database=None)
@given(process_maps, st.sampled_from([" ", "", "\t", "   "]),
       st.sampled_from(["\n", "\r\n", "\n\n# comment\n"]), st.booleans())
def test_rendered_map_parses_back(types: dict[str, str], sep: str, newline: str, bom: bool) -> None:
    parsed = parse_procfile(render(types, sep, newline, bom))
    assert parsed == types
    assert list(parsed) == list(types)


@settings(max_examples=150, deadline=None, database=None)
@given(process_maps)
def test_utf8_bytes_round_trip(types: dict[str, str]) -> None:
    data = render(types, " ", "\n", False).encode("utf-8")
    assert parse_procfile(decode_procfile(data)) == types


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(max_size=300))
def test_arbitrary_text_only_raises_procfile_error(text: str) -> None:
    try:
        result = parse_procfile(text)
    except ProcfileError as err:
        assert 1 <= err.line_number <= text.count("\n") + 1
        assert err.summary == f"Invalid Procfile (line {err.line_number})"
        assert err.problem and err.fix
        str(err)
    else:
        for name, command in result.items():
            assert name and command == command.strip() and "\n" not in command


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(st.sampled_from(
    ["web", "web:", ": x", "web: a:b", "#", "<<<<<<<", "=======", " ", "\t", "\r", ":",
     "\ufeff", "x", "é", "  w-1 : y", "# c:d"]), max_size=30).map("".join))
def test_procfile_like_text_only_raises_procfile_error(text: str) -> None:
    try:
        parse_procfile(text)
    except ProcfileError:
        pass


@settings(max_examples=200, deadline=None, database=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_only_raise_procfile_error(data: bytes) -> None:
    try:
        parse_procfile(decode_procfile(data))
    except ProcfileError as err:
        assert err.line_number >= 1
