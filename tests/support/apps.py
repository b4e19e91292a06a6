"""Apps the tests build, and what a build leaves behind in them."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

from tests.support.machine import FIXTURES


def write_app(root: Path, files: dict[str, str | bytes], name: str = "app") -> Path:
    """``root/name`` holding ``files`` (text or bytes): the app a test builds."""
    app = root / name
    app.mkdir(parents=True, exist_ok=True)
    for relative, content in files.items():
        path = app / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return app


def copy_fixture(name: str, dest: Path) -> Path:
    target = dest / name
    shutil.copytree(FIXTURES / name, target)
    return target


def tree_snapshot(path: Path) -> dict[str, str]:
    """Relative path -> sha256 (or 'dir'/'link'), to assert a dir was left unchanged."""
    snap: dict[str, str] = {}
    if not path.exists():
        return snap
    for item in sorted(path.rglob("*")):
        rel = str(item.relative_to(path))
        if item.is_symlink():
            snap[rel] = "link:" + os.readlink(item)
        elif item.is_dir():
            snap[rel] = "dir"
        else:
            snap[rel] = hashlib.sha256(item.read_bytes()).hexdigest()
    return snap


def installed_distributions(slug: Path) -> dict[str, str]:
    """Canonical name -> version of every distribution the slug's Python sees (run in it)."""
    code = ("import importlib.metadata as m, json, re; print(json.dumps({re.sub(r'[-_.]+', '-', "
            "d.metadata['Name']).lower(): d.version for d in m.distributions()}))")
    out = subprocess.run([str(slug / ".heroku/python/bin/python3"), "-I", "-c", code], cwd=slug,
                         env={"PATH": "/usr/bin:/bin", "HOME": str(slug)},
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def files_containing(root: Path, text: str) -> list[str]:
    """Files under ``root`` (not following links) whose bytes contain ``text``."""
    needle = text.encode()
    found = []
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            path = Path(dirpath) / name
            if not path.is_symlink() and needle in path.read_bytes():
                found.append(str(path.relative_to(root)))
    return found


def config_dir(path: Path, **values: str) -> Path:
    """An ENV_DIR: one file per config var."""
    path.mkdir()
    for name, value in values.items():
        (path / name).write_text(value)
    return path


def move_slug(app: Path, tmp_path: Path) -> Path:
    """The platform runs the slug elsewhere: move it, and make the build path vanish."""
    slug = tmp_path / "mounted" / "app"
    slug.parent.mkdir()
    shutil.move(str(app), slug)
    return slug


def version_wheel(folder: Path, name: str, version: str) -> Path:
    """A minimal pure-Python wheel whose module says its version."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}-{version}-py3-none-any.whl"
    files = {f"{name}/__init__.py": f"VERSION = {version!r}\n",
             f"{name}-{version}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
             f"{name}-{version}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = []
    with zipfile.ZipFile(path, "w") as whl:
        for member, text in files.items():
            whl.writestr(member, text)
            digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
            record.append(f"{member},sha256={digest},{len(text.encode())}")
        record.append(f"{name}-{version}.dist-info/RECORD,,")
        whl.writestr(f"{name}-{version}.dist-info/RECORD", "\n".join(record) + "\n")
    return path
