"""What a Django project looks like from its files: where ``manage.py`` is, which WSGI module
its settings name. Read by the start-command inference (``processes``) and ``bin/test``;
the build step that runs ``collectstatic`` is ``app_build.django``."""
from __future__ import annotations

import re
from pathlib import Path

from buildpack.app.app_files import AppFiles

MANAGE_PY = "manage.py"


_SETTINGS_RE = re.compile(r"""DJANGO_SETTINGS_MODULE['"]\s*,\s*['"]([A-Za-z_][\w.]*)['"]""")


def find_manage_py(app_dir: Path) -> Path | None:
    """``manage.py`` in the app's folder, else in the first (sorted) non-hidden subfolder."""
    candidates = [app_dir / MANAGE_PY] + sorted(
        p for p in app_dir.glob(f"*/{MANAGE_PY}") if not p.parent.name.startswith("."))
    return next((p for p in candidates if p.is_file()), None)


def wsgi_module(manage_py: Path, files: AppFiles | None = None) -> str | None:
    """The WSGI module (``mysite.wsgi``), relative to ``manage.py``'s folder.

    Next to the settings module that ``manage.py`` names (``config.settings.production``
    -> ``config/settings/wsgi.py``, then ``config/wsgi.py``), else the only ``*/wsgi.py``.
    """
    root = manage_py.parent
    text = (files or AppFiles(root)).bytes(manage_py, "source") or b""
    match = _SETTINGS_RE.search(text.decode("utf-8", "replace"))
    if match:
        parts = match.group(1).split(".")[:-1]
        for end in range(len(parts), 0, -1):
            if (root.joinpath(*parts[:end]) / "wsgi.py").is_file():
                return ".".join(parts[:end]) + ".wsgi"
    found = sorted(root.glob("*/wsgi.py"))
    return f"{found[0].parent.name}.wsgi" if len(found) == 1 else None
