"""Issue 21, class 5: local code named by a requirement stays inside the app.

``name @ ../outside``, ``name @ file:///abs``, ``file:../outside``, ``-e ../outside`` and
the other forms pip and uv accept are refused like ``-r ../outside.txt``: an error id
that names the file and the line. The same for pyproject.toml's dependencies, which
pip reads when it installs the app from it.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from buildpack.app.app_files import AppFiles
from buildpack.app.requirements_files import included_files, local_reference, numbered_lines
from buildpack.installers import manager_files
from tests.support import raises_id


@pytest.mark.parametrize("reference, local", [
    ("name @ ../outside", "../outside"),
    ("name@../outside", "../outside"),
    ("name[extra] @ ./libx", "./libx"),
    ("name @ file:///abs/outside", "/abs/outside"),
    ("name @ file://localhost/abs/out%20side", "/abs/out side"),
    ("name @ file://server/share/x", "//server/share/x"),
    ("file:../outside", "../outside"),
    ("FILE:./libx", "./libx"),
    ("../outside", "../outside"),
    ("../outside[extra]", "../outside"),
    ("./libx#egg=libx", "./libx"),
    ("/abs/outside", "/abs/outside"),
    ("libs/common", "libs/common"),
    ("dist/x-1-py3-none-any.whl", "dist/x-1-py3-none-any.whl"),
    ("~/code/x", "~/code/x"),
    ("git+file:///abs/repo@main#egg=x", None),  # a clone, as from a server
    ("name @ git+file:///abs/repo", None),
    ("./libx ; python_version > '3'", "./libx"),
    ("six==1.17.0", None),
    ("six ; python_version > '3/4'", None),
    ("name @ https://example.invalid/x-1-py3-none-any.whl", None),
    ("git+https://example.invalid/x.git#egg=x", None),
    ("name[a,b]>=1", None),
    ("", None),
])
def test_local_reference(reference: str, local: str | None) -> None:
    assert local_reference(reference) == local


def _app(tmp_path: Path) -> Path:
    app = tmp_path / "app"
    (app / "libx").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    return app


OUTSIDE = [
    "name @ ../outside",
    "name @ file:{outside}",
    "name @ file://{outside}",
    "file:../outside",
    "-e ../outside",
    "--editable=file:../outside",
    "../outside",
    "{outside}",
    "~/outside",
    "name @ ./libx/../../outside",
    "./linked",
    "--find-links ../outside",
    "-f {outside}",
    "--find-links=file://{outside}",
    "--find-l ../outside",
    "--index-url file://{outside}",
    "-i file:../outside",
    "--extra-index-url file://{outside}",
]


@pytest.mark.parametrize("line", OUTSIDE)
def test_local_code_outside_the_app_is_refused(line: str, tmp_path: Path) -> None:
    app = _app(tmp_path)
    os.symlink(tmp_path / "outside", app / "linked")
    text = "# pinned\nsix==1.17.0 \\\n    --hash=sha256:" + "0" * 64 + "\n" \
        + line.format(outside=tmp_path / "outside") + "\n"
    (app / "requirements.txt").write_text(text)
    with raises_id("requirements::path-outside") as info:
        included_files(AppFiles(app), app / "requirements.txt")
    what = "packages (-" if line.startswith(("--find", "-f", "-i", "--index", "--extra")) else "local code"
    assert info.value.summary.startswith(f"requirements.txt line 4 names {what}")


def test_an_included_file_is_named_with_its_line(tmp_path: Path) -> None:
    app = _app(tmp_path)
    (app / "reqs").mkdir()
    (app / "requirements.txt").write_text("-r reqs/base.txt\n")
    (app / "reqs/base.txt").write_text("six\n\n-e .\n-e ../../outside\n")
    with raises_id("requirements::path-outside") as info:
        included_files(AppFiles(app), app / "requirements.txt")
    assert info.value.summary.startswith("reqs/base.txt line 4 ")


def test_a_path_is_checked_from_the_app_folder_too(tmp_path: Path) -> None:
    """uv reads ``../libx`` of reqs/base.txt from reqs/ (inside); pip from the app's
    folder (outside): refused, as one of the two engines would leave the app."""
    app = _app(tmp_path)
    (app / "reqs").mkdir()
    (app / "requirements.txt").write_text("-r reqs/base.txt\n")
    (app / "reqs/base.txt").write_text("name @ ../libx\n")
    with raises_id("requirements::path-outside"):
        included_files(AppFiles(app), app / "requirements.txt")


@pytest.mark.parametrize("line", [
    "name @ ./libx", "./libx", "libx", "-e .", "-e ./libx", "file:./libx", "name @ file:libx",
    "name @ file://{app}/libx", "{app}/libx", "six==1.17.0",
    "name @ https://example.invalid/x-1-py3-none-any.whl", "-e git+https://example.invalid/x#egg=x",
    "--find-links wheels", "-f ./libx", "--find-links file://{app}/libx",
    "--find-links https://example.invalid/wheels/", "--index-url file://{app}/libx",
    "--extra-index-url https://example.invalid/simple/",
])
def test_local_code_inside_the_app_is_fine(line: str, tmp_path: Path) -> None:
    app = _app(tmp_path)
    (app / "requirements.txt").write_text(line.format(app=app) + "\n")
    assert included_files(AppFiles(app), app / "requirements.txt") == [app / "requirements.txt"]


def test_include_outside_names_the_line(tmp_path: Path) -> None:
    app = _app(tmp_path)
    (app / "requirements.txt").write_text("six\n-r ../outside.txt\n")
    with raises_id("requirements::include-outside") as info:
        included_files(AppFiles(app), app / "requirements.txt")
    assert info.value.summary.startswith("requirements.txt line 2 ")


def test_numbered_lines_keep_the_first_physical_line() -> None:
    """As pip's ``preprocess``: a backslash after a comment still joins the next line
    (into the comment), unless the line starts with the comment."""
    text = "# c\n\nsix \\\n  ==1.17.0\nattrs # c \\\n-e .\n# d \\\n-e ./x\n"
    assert numbered_lines(text) == [(3, "six   ==1.17.0"), (5, "attrs"), (8, "-e ./x")]


PROJECT = '[project]\nname = "app"\nversion = "1"\n'


@pytest.mark.parametrize("table", [
    'dependencies = [\n  "six",\n  "x @ file://{outside}",\n]\n',
    'dependencies = ["six"]\n\n[project.optional-dependencies]\nweb = ["x @ ../outside"]\n',
    'dependencies = []\n\n[dependency-groups]\ndev = ["x @ file:../outside"]\n',
])
def test_pyproject_dependency_outside_the_app_is_refused(table: str, tmp_path: Path) -> None:
    app = _app(tmp_path)
    text = PROJECT + table.format(outside=tmp_path / "outside")
    (app / "pyproject.toml").write_text(text)
    line = next(n for n, t in enumerate(text.splitlines(), start=1) if "x @" in t)
    with raises_id("dependencies::path-outside") as info:
        manager_files.find(AppFiles(app))
    assert info.value.summary.startswith(f"pyproject.toml line {line} names local code outside")


def test_pyproject_dependency_inside_the_app_is_fine(tmp_path: Path) -> None:
    app = _app(tmp_path)
    (app / "pyproject.toml").write_text(PROJECT + f'dependencies = ["x @ file://{app}/libx"]\n')
    assert manager_files.find(AppFiles(app)).installs_app


@pytest.mark.parametrize("line, reason", [
    ("six --global-option=--quiet", "no such option: --global-option"),
    ("--no six", "ambiguous option: --no"),
    ('-r "base.txt', "No closing quotation"),
])
def test_options_pip_refuses_are_refused_with_the_line(line: str, reason: str,
                                                       tmp_path: Path) -> None:
    app = _app(tmp_path)
    (app / "requirements.txt").write_text(f"six\n{line}\n")
    with raises_id("requirements::invalid-option") as info:
        included_files(AppFiles(app), app / "requirements.txt")
    assert info.value.summary == "requirements.txt line 2 has options pip does not accept"
    assert reason in info.value.body


@pytest.mark.parametrize("line, shown", [
    ("--index-url https://u:pa/ss@h.invalid/simple/", "(--index-url)"),
    ("-i http://u:pw@127.0.0.1:443O/simple/", "(--index-url)"),
    ("--extra-index-url https://u:pa/ss@h.invalid/simple/", "(--extra-index-url)"),
    ("-f https://u:pa/ss@h.invalid/links/", "(--find-links)"),
    ("x @ https://u:pa/ss@h.invalid/x-1-py3-none-any.whl", "(a direct reference)"),
    ("x @ git+https://u:pa/ss@h.invalid/x.git@main", "(a direct reference)"),
])
def test_urls_whose_password_would_be_shown_are_refused(line: str, shown: str,
                                                         tmp_path: Path) -> None:
    """pip and uv cannot read a password with an unencoded ``/`` as one, so they echo
    it: refused before either runs, the password never shown."""
    app = _app(tmp_path)
    (app / "requirements.txt").write_text(line + "\n")
    with raises_id("url::invalid") as info:
        included_files(AppFiles(app), app / "requirements.txt")
    assert info.value.summary.startswith(f"requirements.txt line 1 {shown}")
    assert "pa/ss" not in info.value.body and "pw@" not in info.value.body


@pytest.mark.parametrize("line", [
    "x @ git+https://h.invalid/x.git@main#egg=x", "git+https://u:tok@h.invalid/x.git@v1",
    "x @ git+file:///srv/repos/x@main",
    "x @ git+ssh://git@h.invalid/org/x.git", "--index-url https://u:p%2Fw@h.invalid/simple/",
    "-f ./wheels", "--index-url https://${IDX_USER}:${IDX_PASSWORD}@h.invalid/simple/",
])
def test_good_urls_pass(line: str, tmp_path: Path) -> None:
    app = _app(tmp_path)
    (app / "requirements.txt").write_text(line + "\n")
    assert included_files(AppFiles(app), app / "requirements.txt") == [app / "requirements.txt"]


@pytest.mark.parametrize("line", ["six ; 'x' != ''", "six; os_name == 'posix' and 'a' == 'b'",
                                  "six ; python_version ~= 'x'"])
def test_a_marker_pip_cannot_evaluate_is_refused_with_the_line(line: str, tmp_path: Path) -> None:
    """pip 26.3 stops on these with a traceback (uv installs): refused at plan time instead."""
    app = _app(tmp_path)
    (app / "requirements.txt").write_text(f"attrs\n{line}\n")
    with raises_id("requirements::invalid-marker") as info:
        included_files(AppFiles(app), app / "requirements.txt")
    assert info.value.summary == "requirements.txt line 2 has a marker pip cannot evaluate"


@pytest.mark.parametrize("line", ["six ; python_version >= '3.12'", "six ; python_version < '3.1O'",
                                  "name @ https://example.invalid/x.whl ; sys_platform == 'linux'",
                                  "six ; extra == 'web'", "six ;"])
def test_a_marker_pip_can_evaluate_is_fine(line: str, tmp_path: Path) -> None:
    app = _app(tmp_path)
    (app / "requirements.txt").write_text(f"{line}\n")
    assert included_files(AppFiles(app), app / "requirements.txt") == [app / "requirements.txt"]
