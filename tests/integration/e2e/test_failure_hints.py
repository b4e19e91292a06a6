"""Failure hints for every engine: real packages that fail to build or install, made at
test time and served by a local index, and the hint each failure gets (with the
installer's own output still in the log above it)."""
from __future__ import annotations

import base64
import hashlib
import io
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests import support

pytestmark = pytest.mark.slow

PYPROJECT = ('[build-system]\nrequires = ["setuptools"]\n'
             'build-backend = "setuptools.build_meta"\n')
# mysqlclient's old setup_posix.py, in short: ask mysql_config, fail when it is missing.
NEEDS_MYSQL = '''\
import os
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class BuildExt(build_ext):
    def run(self):
        pipe = os.popen("mysql_config --cflags")
        pipe.read()
        if pipe.close():
            raise OSError("mysql_config not found")
        super().run()


setup(name="needs-mysql", version="1.0", cmdclass={"build_ext": BuildExt},
      ext_modules=[Extension("needs_mysql._c", ["c.c"])])
'''
# A real compile against a header outside the default include path (as lxml without
# xml2-config): gcc stops with "fatal error: libxml/xmlversion.h: No such file ...".
NEEDS_LIBXML = '''\
from setuptools import Extension, setup

setup(name="needs-libxml", version="1.0", ext_modules=[Extension("needs_libxml", ["c.c"])])
'''


def make_sdist(dest: Path, name: str, setup_py: str, c_source: str) -> Path:
    """A real sdist (setup.py, pyproject.toml, PKG-INFO, one C file)."""
    base = f"{name.replace('-', '_')}-1.0"
    path = dest / f"{base}.tar.gz"
    members = {"setup.py": setup_py, "pyproject.toml": PYPROJECT, "c.c": c_source,
               "PKG-INFO": f"Metadata-Version: 2.2\nName: {name}\nVersion: 1.0\n"}
    with tarfile.open(path, "w:gz") as tar:
        for member, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{base}/{member}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def make_wheel(dest: Path, name: str, requires: str) -> Path:
    """A pure wheel whose METADATA carries ``requires`` as written."""
    dist = f"{name}-1.0.dist-info"
    files = {f"{name}/__init__.py": b"",
             f"{dist}/METADATA": (f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n"
                                  f"Requires-Dist: {requires}\n").encode(),
             f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\n"
                              b"Tag: py3-none-any\n"}
    record = [f"{p},sha256={base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b'=').decode()},{len(d)}"
              for p, d in files.items()] + [f"{dist}/RECORD,,"]
    files[f"{dist}/RECORD"] = ("\n".join(record) + "\n").encode()
    path = dest / f"{name}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as whl:
        for member, data in files.items():
            whl.writestr(member, data)
    return path


@pytest.fixture(scope="module")
def failing_index(tmp_path_factory, package_index):
    """A local index with packages that fail as real ones do, plus the build backend."""
    packages = tmp_path_factory.mktemp("failing-packages")
    for wheel in package_index.packages.glob("setuptools-*.whl"):
        shutil.copy(wheel, packages)
    make_sdist(packages, "needs-mysql", NEEDS_MYSQL, "int x;\n")
    make_sdist(packages, "needs-libxml", NEEDS_LIBXML,
               "#include <libxml/xmlversion.h>\nint x;\n")
    make_wheel(packages, "legacymeta", "pytz>dev")  # as celery 5.2.0 declared it
    support.ensure_tool_packages()  # the build installs Pipenv/Poetry/uv from the main index
    index = support.start_index(packages)
    yield index
    index.stop()


def build(app: Path, tmp_path: Path, build_env) -> support.BuildResult:
    result = support.compile_app(app, tmp_path / "cache", build_env)
    assert result.returncode == 1, result.log
    assert "Traceback (most recent call last)" not in result.stderr
    assert not (app / ".heroku").exists()
    return result


def requirements_app(tmp_path: Path, requirement: str) -> Path:
    app = tmp_path / "app"
    app.mkdir()
    (app / "requirements.txt").write_text(f"{requirement}\n")
    return app


def with_index(build_env, index_url: str, engine: str = "uv") -> dict[str, str]:
    """The build's settings with the failing index as an extra index (pip and uv alike),
    and the requirements.txt engine (``PYTHON_INSTALLER``)."""
    return {**build_env, "PIP_EXTRA_INDEX_URL": index_url, "PYTHON_INSTALLER": engine}


def locked_app(tmp_path: Path, manager: str, index_url: str, requirement: str) -> Path:
    """An app of ``manager`` depending on ``requirement``, locked now against the index."""
    app = tmp_path / "app"
    app.mkdir()
    python = support.find_prefix("3.13") / "bin" / "python3.13"
    name, version = requirement.split("==")
    extra: dict[str, str] = {}
    project = (f'[project]\nname = "app"\nversion = "1.0"\nrequires-python = ">=3.11"\n'
               f'dependencies = ["{requirement}"]\n')
    if manager == "uv":
        (app / "pyproject.toml").write_text(
            project + f'\n[[tool.uv.index]]\nname = "local"\nurl = "{index_url}"\ndefault = true\n')
        cmd = [str(support.lock_tool("uv")), "lock", "--python", str(python)]
    elif manager == "poetry":
        (app / "pyproject.toml").write_text(
            project + '\n[tool.poetry]\npackage-mode = false\n\n[[tool.poetry.source]]\n'
            f'name = "local"\nurl = "{index_url}"\npriority = "primary"\n')
        cmd = [str(support.lock_tool("poetry")), "lock", "--no-interaction"]
    elif manager == "pdm":
        (app / "pyproject.toml").write_text(
            project + '\n[tool.pdm]\ndistribution = false\n\n[[tool.pdm.source]]\n'
            f'name = "pypi"\nurl = "{index_url}"\nverify_ssl = false\n')
        cmd = [str(support.lock_tool("pdm")), "lock"]
        extra = {"PDM_PYTHON": str(python)}
    else:
        (app / "Pipfile").write_text(
            f'[[source]]\nurl = "{index_url}"\nverify_ssl = false\nname = "local"\n\n'
            f'[packages]\n{name} = "=={version}"\n\n[requires]\npython_version = "3.13"\n')
        cmd = [str(support.lock_tool("pipenv")), "lock", "--python", str(python)]
    proc = subprocess.run(cmd, cwd=app, env=support.lock_env(tmp_path / "lock-scratch", extra),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return app


@pytest.mark.parametrize("manager", ["requirements-uv", "requirements-pip", "uv", "poetry",
                                     "pipenv", "pdm"])
def test_missing_system_library_is_named_for_every_engine(tmp_path, build_env, failing_index,
                                                          manager):
    env = build_env
    if manager.startswith("requirements-"):
        app = requirements_app(tmp_path, "needs-mysql==1.0")
        env = with_index(build_env, failing_index.url, manager.split("-")[1])
    else:
        app = locked_app(tmp_path, manager, failing_index.url, "needs-mysql==1.0")
    result = build(app, tmp_path, env)
    assert "mysql_config not found" in result.stdout  # the installer's own output, above
    assert "(error id: dependencies::missing-system-library)" in result.stderr
    assert "the MySQL/MariaDB client library" in result.stderr
    assert "default-libmysqlclient-dev" in result.stderr and "PyMySQL" in result.stderr


def test_missing_header_names_the_library(tmp_path, build_env, failing_index):
    app = requirements_app(tmp_path, "needs-libxml==1.0")
    result = build(app, tmp_path, with_index(build_env, failing_index.url))
    assert "fatal error: libxml/xmlversion.h: No such file or directory" in result.stdout
    assert "(error id: dependencies::missing-system-library)" in result.stderr
    assert "libxml2-dev and libxslt1-dev" in result.stderr


def test_legacy_metadata_says_so_and_suggests_an_upgrade(tmp_path, build_env, failing_index):
    app = requirements_app(tmp_path, "legacymeta==1.0")
    # pip's verdict (uv, the default engine, reads `pytz>dev` leniently).
    result = build(app, tmp_path, with_index(build_env, failing_index.url, "pip"))
    assert "pytz>dev" in result.stdout
    assert "(error id: dependencies::invalid-legacy-metadata)" in result.stderr
    assert "legacymeta 1.0 has metadata that current pip rejects" in result.stderr
    assert "Upgrade to a newer" in result.stderr


def test_crashing_app_setup_py_is_named(tmp_path, build_env):
    app = tmp_path / "app"
    app.mkdir()
    (app / "setup.py").write_text("import json\nfrom setuptools import setup\n\n"
                                  "setup(**json.load(open('build-settings.json')))\n")
    (app / "pyproject.toml").write_text(PYPROJECT)
    result = build(app, tmp_path, build_env)
    assert "No such file or directory: 'build-settings.json'" in result.stdout
    assert "(error id: dependencies::app-build-failed)" in result.stderr
    assert "the app's own setup.py failed" in result.stderr
