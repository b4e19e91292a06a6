"""PYTHON_DEPENDENCY_GROUPS and PYTHON_EXTRAS: parsing, the check against what each
package manager's files define, the installers' arguments, the cache key (issue 24 item 1).
The real installs are in tests/e2e/test_groups_extras.py."""
from __future__ import annotations

from pathlib import Path

import pytest

from buildpack import installers
from buildpack.base import names
from buildpack.cache import env_cache
from buildpack.installers import pdm, pip, pipenv, poetry, selection, uv
from buildpack.installers.record import EXTRAS_VAR, GROUPS_VAR, Selection
from tests.support import raises_id, write_app

UV_PYPROJECT = """\
[project]
name = "app"
version = "1"
dependencies = ["six"]

[project.optional-dependencies]
S3_Storage = ["boto"]
pg = ["psycopg"]

[dependency-groups]
Web = ["gunicorn"]
dev = ["pytest"]
"""

POETRY_PYPROJECT = """\
[project]
name = "app"
version = "1"
dependencies = ["six"]

[project.optional-dependencies]
pg = ["psycopg"]

[tool.poetry.extras]
legacy = ["idna"]

[tool.poetry.group.web.dependencies]
gunicorn = "*"

[tool.poetry.group.main.dependencies]
six = "*"

[dependency-groups]
docs = ["sphinx"]
"""

PIPFILE = """\
[[source]]
url = "https://example.invalid/simple"
name = "local"

[packages]
six = "*"

[dev-packages]
pytest = "*"

[web]
gunicorn = "*"

[requires]
python_version = "3.13"
"""


def app(tmp_path: Path, files: dict[str, str]) -> Path:
    return write_app(tmp_path, files)


# --- parsing ---------------------------------------------------------------------------

@pytest.mark.parametrize("value, names", [
    (None, ()),
    ("", ()),
    ("  ", ()),
    ("web", ("web",)),
    ("web,s3", ("web", "s3")),
    (" web ,  s3\tpg ", ("web", "s3", "pg")),
    ("Web,web,WEB", ("Web",)),  # one name, normalised (PEP 685/735)
    ("a_b,a-b,A.B", ("a_b",)),
    ("x1.y-z_2", ("x1.y-z_2",)),
])
def test_parse_splits_on_commas_and_spaces_and_keeps_each_name_once(value, names):
    assert selection.parse(value, GROUPS_VAR) == names


@pytest.mark.parametrize("value", [
    "-web", "web-", "we b=1", "web;rm", "päckage", "a/b", "web[x]", "x" * 65,
    ",".join(f"g{i}" for i in range(33)), "a," * 600,
])
def test_parse_refuses_what_is_not_a_bounded_list_of_names(value):
    with raises_id("dependencies::invalid-selection") as info:
        selection.parse(value, EXTRAS_VAR)
    assert EXTRAS_VAR in info.value.summary


def test_normalize_is_pep_685():
    assert names.normalize("S3__Storage.v2") == "s3-storage-v2"


# --- checking against the project -------------------------------------------------------

def test_uv_groups_and_extras_take_the_projects_spelling(tmp_path):
    root = app(tmp_path, {"pyproject.toml": UV_PYPROJECT, "uv.lock": "version = 1\n"})
    choice = installers.choose(root, groups="web", extras="s3-storage, PG")
    assert choice.manager.name == "uv"
    assert choice.selection == Selection(("Web",), ("S3_Storage", "pg"))
    assert uv.arguments(choice) == ["sync", "--locked", "--no-default-groups", "--group", "Web",
                                    "--extra", "S3_Storage", "--extra", "pg"]


def test_unknown_group_lists_the_ones_the_project_defines(tmp_path):
    root = app(tmp_path, {"pyproject.toml": UV_PYPROJECT, "uv.lock": "version = 1\n"})
    with raises_id("dependencies::unknown-group") as info:
        installers.choose(root, groups="web,api,worker")
    assert "api, worker" in info.value.summary
    assert "Web, dev" in info.value.body
    assert "[dependency-groups]" in info.value.body


def test_unknown_extra_lists_the_ones_the_project_defines(tmp_path):
    root = app(tmp_path, {"pyproject.toml": UV_PYPROJECT, "uv.lock": "version = 1\n"})
    with raises_id("dependencies::unknown-extra") as info:
        installers.choose(root, extras="redis")
    assert "redis" in info.value.summary
    assert "S3_Storage, pg" in info.value.body


def test_poetry_groups_extras_and_its_arguments(tmp_path):
    root = app(tmp_path, {"pyproject.toml": POETRY_PYPROJECT, "poetry.lock": "# lock\n"})
    choice = installers.choose(root, groups="web docs", extras="legacy,pg")
    assert choice.selection == Selection(("web", "docs"), ("legacy", "pg"))
    assert poetry.arguments(choice) == ["sync", "--only", "main,web,docs", "--extras", "legacy",
                                        "--extras", "pg", "--no-ansi", "--no-interaction"]
    with raises_id("dependencies::unknown-group") as info:
        installers.choose(root, groups="main")  # always installed: not a group to name
    assert "docs, web" in info.value.body


def test_poetry_without_a_selection_is_unchanged(tmp_path):
    root = app(tmp_path, {"pyproject.toml": POETRY_PYPROJECT, "poetry.lock": "# lock\n"})
    choice = installers.choose(root)
    assert not choice.selection
    assert poetry.arguments(choice) == poetry.SYNC_ARGS
    assert poetry.arguments(installers.choose(root, dev=True, extras="pg")) == [
        "sync", "--all-groups", "--extras", "pg", "--no-ansi", "--no-interaction"]


def test_pdm_drops_prod_only_when_a_dev_group_is_named(tmp_path):
    text = UV_PYPROJECT + "\n[tool.pdm]\ndistribution = false\n"
    root = app(tmp_path, {"pyproject.toml": text, "pdm.lock": "# lock\n"})
    assert pdm.arguments(installers.choose(root, extras="pg")) == ["sync", "--prod", "-G", "pg"]
    assert pdm.arguments(installers.choose(root, groups="web", extras="pg")) == [
        "sync", "-G", "Web", "-G", "pg"]
    assert pdm.arguments(installers.choose(root)) == pdm.SYNC_ARGS


def test_pdm_groups_must_be_in_the_lock(tmp_path):
    text = UV_PYPROJECT + "\n[tool.pdm]\ndistribution = false\n"
    lock = '[metadata]\ngroups = ["default", "Web", "dev"]\n'
    root = app(tmp_path, {"pyproject.toml": text, "pdm.lock": lock})
    assert installers.choose(root, groups="web").selection.groups == ("Web",)
    with raises_id("dependencies::selection-not-locked") as info:
        installers.choose(root, groups="web", extras="pg")
    assert "locked groups: default, Web, dev" in info.value.body
    assert "Run `pdm lock -G pg` (or `pdm lock -G :all`)" in info.value.body


def test_pipenv_groups_are_categories_and_it_has_no_extras(tmp_path):
    root = app(tmp_path, {"Pipfile": PIPFILE, "Pipfile.lock": "{}"})
    choice = installers.choose(root, groups="web")
    assert pipenv.arguments(choice) == [*pipenv.ARGS, "--categories", "packages web"]
    with raises_id("dependencies::unknown-group") as info:
        installers.choose(root, groups="source")
    assert "dev-packages, web" in info.value.body
    with raises_id("dependencies::selection-not-supported") as info:
        installers.choose(root, extras="web")
    assert "Pipenv has no extras" in info.value.body


def test_pip_install_dot_takes_extras_and_groups(tmp_path):
    root = app(tmp_path, {"pyproject.toml": UV_PYPROJECT})
    choice = installers.choose(root, groups="dev", extras="pg")
    assert choice.installs_app and choice.selection == Selection(("dev",), ("pg",))
    assert pip.group_arguments(choice.selection) == ["--group", "dev"]


def test_dynamic_extras_are_left_to_pip(tmp_path):
    root = app(tmp_path, {"setup.py": "from setuptools import setup\nsetup(name='a')\n"})
    assert installers.choose(root, extras="anything").selection.extras == ("anything",)
    with raises_id("dependencies::unknown-group"):
        installers.choose(root, groups="web")  # no pyproject.toml: no groups at all
    dynamic = UV_PYPROJECT.replace('dependencies = ["six"]',
                                   'dependencies = ["six"]\ndynamic = ["optional-dependencies"]')
    root = app(tmp_path / "dyn", {"pyproject.toml": dynamic})
    assert installers.choose(root, extras="later").selection.extras == ("later",)


def test_requirements_txt_takes_groups_from_pyproject_and_keys_on_it(tmp_path):
    root = app(tmp_path, {"requirements.txt": "six\n", "pyproject.toml": UV_PYPROJECT})
    choice = installers.choose(root, groups="WEB")
    assert choice.selection == Selection(("Web",), (), (root / "pyproject.toml",))
    assert choice.files == (root / "requirements.txt",)  # the pyproject.toml is not a lock
    with raises_id("dependencies::selection-not-supported") as info:
        installers.choose(root, extras="pg")
    assert "requirements.txt lists packages, not extras" in info.value.body


def test_requirements_txt_without_pyproject_defines_no_group(tmp_path):
    root = app(tmp_path, {"requirements.txt": "six\n"})
    with raises_id("dependencies::unknown-group") as info:
        installers.choose(root, installer="pip", groups="web")
    assert "(none)" in info.value.body


def test_no_dependency_files_refuses_a_selection(tmp_path):
    root = app(tmp_path, {"app.py": ""})
    with raises_id("dependencies::selection-not-supported"):
        installers.choose(root, groups="web")


def test_not_toml_is_the_toml_error(tmp_path):
    root = app(tmp_path, {"requirements.txt": "six\n", "pyproject.toml": "[oops"})
    with raises_id("toml::invalid"):
        installers.choose(root, groups="web")


# --- the log and the cache key ------------------------------------------------------------

def test_describe_names_what_is_installed():
    assert Selection(("web",), ("s3", "pg")).describe() == "the group web and the extras s3, pg"
    assert Selection((), ("s3",)).describe() == "the extra s3"
    assert Selection().describe() == "" and Selection().key() == ""
    assert Selection(("a", "b"), ("x",)).key() == "groups=a,b;extras=x"


def test_the_selection_is_not_in_the_cache_key():
    """The package manager decides (issue 20): uv's --exact, uv sync and poetry sync apply a
    changed selection to the previous environment; pip with a selection installs afresh."""
    assert "selection" not in env_cache.CacheKey.__dataclass_fields__
