"""Run the buildpack the way herokuish (Dokku) does, without touching the machine's /app.

``herokuish.sh`` does what herokuish does (build in ``/tmp/build`` with ``/tmp/cache``
and ``/tmp/env``, as an unprivileged user, ``STACK`` and ``HOME=/app`` set, release
output in ``.release``, the build moved to ``/app``; then ``web`` started after
``.profile.d``, ``$PORT`` expanded by ``eval echo``). It runs in a private root:

- ``unshare -m`` gives it a mount namespace of its own (so this needs root, as
  herokuish does);
- a tmpfs becomes the new root; every top-level entry of the machine is bind-mounted into
  it except ``/app`` and ``/tmp``, which are this harness's directories, and the checkout
  is bind-mounted at its own path (CI may clone it under ``/tmp``); ``chroot``.

So the paths are exactly herokuish's, the machine's ``/app`` (which need not exist) and
``/tmp`` stay untouched, and the mounts vanish with the processes. The slug stays in
``<root>/app`` for the test to inspect.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests import support

SCRIPT = Path(__file__).with_name("herokuish.sh")
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

_PRIVATE_ROOT = r"""
set -e
root=$1
shift
new=$root/root
mount -t tmpfs -o mode=755 tmpfs "$new"
for entry in /*; do
  name=${entry#/}
  case $name in app | tmp) continue ;; esac
  if [ -L "$entry" ]; then ln -s "$(readlink "$entry")" "$new/$name"
  elif [ -d "$entry" ]; then mkdir "$new/$name"; mount --rbind "$entry" "$new/$name"
  else touch "$new/$name"; mount --bind "$entry" "$new/$name"; fi
done
mkdir "$new/app" "$new/tmp"
mount --bind "$root/app" "$new/app"
mount --bind "$root/tmp" "$new/tmp"
# The checkout itself (harness script, test venv, test store) may live under /tmp.
mkdir -p "$new$KEEP"
mount --rbind "$KEEP" "$new$KEEP"
exec chroot "$new" "$@"
"""


def private_root_command(root: Path, command: list[str]) -> list[str]:
    """``command`` in the private root, with this checkout visible at its own path."""
    return ["env", f"KEEP={support.ROOT}", "unshare", "--mount", "--propagation", "private",
            "sh", "-c", _PRIVATE_ROOT, "private-root", str(root), *command]


def store_stack() -> str:
    """The stack the test store's runtimes are for (the platform sets STACK to match)."""
    manifest = json.loads((support.STORE_DIR / "manifest.json").read_text())
    [stack] = {runtime["stack"] for runtime in manifest["runtimes"]}
    return stack


@dataclass
class Herokuish:
    root: Path  # must be reachable by the unprivileged user (0755)
    user: str

    @classmethod
    def create(cls, root: Path, user: str) -> Herokuish:
        (root / "root").mkdir()
        (root / "app").mkdir()
        (root / "tmp").mkdir()
        os.chmod(root / "tmp", 0o1777)
        for name in ("build", "cache", "env", "buildpacks"):
            (root / "tmp" / name).mkdir()
        support.copy_buildpack(root / "tmp" / "buildpacks")
        return cls(root, user)

    @property
    def slug(self) -> Path:
        """``/app`` inside the private root."""
        return self.root / "app"

    def import_app(self, source: Path) -> None:
        """The app as the platform receives it: herokuish starts from /app."""
        shutil.rmtree(self.slug)
        shutil.copytree(source, self.slug, symlinks=True)

    def config(self, **values: str) -> None:
        for name, value in values.items():
            (self.root / "tmp" / "env" / name).write_text(value)

    def _command(self, *args: str, **env: str) -> list[str]:
        variables = {"PATH": PATH, "HEROKUISH_USER": self.user, "STACK": store_stack(),
                     "HEROKUISH_YAML_PYTHON": sys.executable, **env}
        return private_root_command(self.root, ["env", "-i", *(f"{k}={v}" for k, v in
                                                              variables.items()),
                                                "bash", str(SCRIPT), *args])

    def build(self) -> support.BuildResult:
        proc = subprocess.run(self._command("build"), capture_output=True, text=True,
                              timeout=600, stdin=subprocess.DEVNULL)
        return support.BuildResult(proc.returncode, proc.stdout, proc.stderr, self.slug)

    def start(self, process_type: str, port: int) -> support.LoggedProcess:
        return support.LoggedProcess(self._command("start", process_type, PORT=str(port)),
                                     self.root / f"{process_type}-{port}.log")
