"""A real build of an app that asks for a uv or Poetry the buildpack does not pin (issue 24
item 4): refused at plan time, nothing written; one that the pins satisfy builds."""
from __future__ import annotations

import pytest

from buildpack.installers.pinned_tools import TOOLS
from tests import support

pytestmark = pytest.mark.slow

UV = TOOLS["uv"].version()


@pytest.mark.parametrize("files, asked", [
    ({"pyproject.toml": '[project]\nname = "a"\nversion = "1"\n\n[tool.uv]\n'
                        'required-version = ">=99"\n', "uv.lock": "version = 1\n"}, "uv >=99"),
    ({"requirements.txt": "six==1.17.0\n", "uv.toml": 'required-version = "==0.5.0"\n'},
     "uv ==0.5.0"),
    ({"pyproject.toml": '[project]\nname = "a"\nversion = "1"\n\n[tool.poetry]\n'
                        'requires-poetry = ">=3"\n', "poetry.lock": ""}, "Poetry >=3"),
])
def test_an_unsatisfied_tool_version_stops_the_build_at_plan_time(files, asked, build_env,
                                                                  tmp_path):
    app = support.write_app(tmp_path, files)
    before = support.tree_snapshot(app)
    result = support.compile_app(app, tmp_path / "cache", build_env)
    assert result.returncode == 1, result.log
    assert f"The app asks for {asked}; this buildpack installs" in result.stderr
    assert "(error id: package-manager::tool-version-unsatisfied)" in result.stderr
    assert "Installing" not in result.stdout and "Traceback" not in result.log
    assert support.tree_snapshot(app) == before


def test_a_satisfied_uv_version_builds(build_env, tmp_path):
    minor = ".".join(UV.split(".")[:2])
    app = support.write_app(tmp_path, {"requirements.txt": "six==1.17.0\n",
                                       "pyproject.toml": f'[tool.uv]\nrequired-version = ">={minor}"\n'})
    result = support.compile_app(app, tmp_path / "cache", build_env)
    assert result.returncode == 0, result.log
    assert f"Installing dependencies using uv ({UV})" in result.stdout
