"""Every error id is documented, and the entry point names the cause of a system error."""
from __future__ import annotations

import errno
import re

import pytest

from buildpack.base import error_classes, output
from buildpack.base.output import BuildError
from tests.support import ROOT

_ID = re.compile(r'"([a-z0-9-]+::[a-z0-9-]+)"|\(error id: ([a-z0-9-]+::[a-z0-9-]+)\)')


def _ids_in_code() -> set[str]:
    sources = [*(ROOT / "buildpack").rglob("*.py"), ROOT / "bin" / "_run.py"]
    return {a or b for path in sources for a, b in _ID.findall(path.read_text())}


def _ids_in_docs() -> list[str]:
    text = (ROOT / "docs" / "errors.md").read_text()
    return re.findall(r"^\| `([^`]+)` \|", text, re.M)


def test_every_id_in_the_code_is_documented() -> None:
    missing = _ids_in_code() - set(_ids_in_docs())
    assert not missing, f"add these ids to docs/errors.md: {sorted(missing)}"


def test_docs_list_each_id_once_and_only_ids_the_code_uses() -> None:
    documented = _ids_in_docs()
    assert len(documented) == len(set(documented))
    assert set(documented) - _ids_in_code() == set()


def test_error_id_is_required_and_shown_last(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(TypeError):
        BuildError("no id")  # type: ignore[call-arg]
    output.error(BuildError("Broken", "Fix it.", error_id="area::what"))
    lines = capsys.readouterr().err.strip("\n").splitlines()
    assert lines[0] == " !     Error: Broken."
    assert lines[-1] == " !     (error id: area::what)"


def _main_raising(exc: BaseException):
    def main(argv: list[str]) -> int:
        raise exc
    return main


@pytest.mark.parametrize("code, error_id, summary", [
    (errno.ENOSPC, "system::disk-full", "The build server's disk is full"),
    (errno.EACCES, "system::permission-denied", "The build was denied access to a file"),
    (errno.EROFS, "system::read-only", "The build tried to write to a read-only file system"),
    (errno.ENOMEM, "system::out-of-memory", "The build server ran out of memory"),
    (errno.ELOOP, "system::os-error", "The build stopped on a system error"),
])
def test_system_errors_name_their_cause(capsys: pytest.CaptureFixture[str], code: int,
                                        error_id: str, summary: str) -> None:
    exc = OSError(code, "strerror text", "/cache/env/x")
    # 75 (EX_TEMPFAIL) for a full disk or memory, which may clear (test_error_classes)
    assert output.run_main(_main_raising(exc), []) == error_classes.exit_code(error_id)
    err = capsys.readouterr().err
    assert f"Error: {summary}." in err
    assert "strerror text (/cache/env/x)." in err
    assert f"(error id: {error_id})" in err
    assert "Traceback" not in err


def test_build_error_exits_1_with_its_block(capsys: pytest.CaptureFixture[str]) -> None:
    exc = BuildError("Bad input", error_id="area::bad")
    assert output.run_main(_main_raising(exc), []) == 1
    assert "(error id: area::bad)" in capsys.readouterr().err


def test_a_full_disk_names_where_a_copy_was_writing(capsys: pytest.CaptureFixture[str]) -> None:
    """shutil.copy2 puts the source in ``filename`` and the destination in ``filename2``:
    the full disk is the destination's (CACHE_DIR), which the error must name."""
    exc = OSError(errno.ENOSPC, "No space left on device", "/build/app/.heroku/python/x.py",
                  None, "/cache/runtime/.keep-1/python/x.py")
    output.run_main(_main_raising(exc), [])
    err = capsys.readouterr().err
    assert "No space left on device (/cache/runtime/.keep-1/python/x.py)." in err
    assert "/build/app" not in err
