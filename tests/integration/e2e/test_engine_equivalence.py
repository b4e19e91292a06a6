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

# fixture -> the config vars its build needs (its hooks read GREETING; monorepo-app's
# Python app lives in api/)
APPS: dict[str, dict[str, str]] = {
    p.parent.name: {} for p in sorted(support.FIXTURES.glob("*/requirements.txt"))}
APPS["hooks-app"] = {"GREETING": "Hello"}
APPS["monorepo-app"] = {"APP_BASE": "api", "GREETING": "Hello"}


@pytest.mark.parametrize("name", sorted(APPS))
def test_both_engines_install_the_same_distributions(tmp_path, build_env, name):
    installed = {}
    for engine in ("uv", "pip"):
        app = support.copy_fixture(name, tmp_path / engine)
        (app / "nltk.txt").unlink(missing_ok=True)  # NLTK data is not the engine's (own test)
        env_dir = tmp_path / f"env-{engine}"
        env_dir.mkdir()
        for var, value in {**APPS[name], "PYTHON_INSTALLER": engine}.items():
            (env_dir / var).write_text(value)
        result = support.compile_app(app, tmp_path / f"cache-{engine}", build_env, env_dir)
        assert result.returncode == 0, result.log
        assert f"-----> Installing dependencies using {engine} (" in result.stdout
        installed[engine] = support.installed_distributions(app)
    assert "pip" in installed["uv"]
    assert len(installed["uv"]) > 1
    assert installed["uv"] == installed["pip"]
