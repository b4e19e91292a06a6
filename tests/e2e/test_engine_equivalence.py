"""uv and pip install the same thing: every fixture app with a requirements.txt, built with
each engine, has the same distributions (names and versions, read by importlib.metadata
inside the built runtime). The requirements cases of test_installers_pip (includes,
constraints, markers, VCS, local paths, -e, index lines, hashes, vendored wheels) run
under both engines there.

Legitimate differences: none found. (Both keep pip in the slug: the uv engine installs
the same pinned pip, from vendor/pip.txt, that the pip engine bootstraps.)
"""
from __future__ import annotations

import pytest

from tests import support

pytestmark = pytest.mark.slow

# fixture -> the config vars it needs (monorepo-app's Python app lives in api/)
APPS = {p.parent.name: {} for p in sorted(support.FIXTURES.glob("*/requirements.txt"))}
APPS["monorepo-app"] = {"APP_BASE": "api"}


@pytest.mark.parametrize("name", sorted(APPS))
def test_both_engines_install_the_same_distributions(tmp_path, build_env, name):
    installed = {}
    for engine in ("uv", "pip"):
        app = support.copy_fixture(name, tmp_path / engine)
        env = {**build_env, **APPS[name], "PYTHON_INSTALLER": engine}
        result = support.compile_app(app, tmp_path / f"cache-{engine}", env)
        assert result.returncode == 0, result.log
        assert f"-----> Installing dependencies using {engine} (" in result.stdout
        installed[engine] = support.installed_distributions(app)
    assert "pip" in installed["uv"]
    assert len(installed["uv"]) > 1
    assert installed["uv"] == installed["pip"]
