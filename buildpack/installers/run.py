"""Run an installer, its output streamed into the build log, indented and masked."""
from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Callable

from buildpack import output
from buildpack.redact import mask_credentials, mask_values


def run_streamed(cmd: list[str], env: dict[str, str], cwd: Path, secrets: list[str],
                 echo: bool = True, hide: Callable[[str], object] | None = None,
                 ) -> tuple[int, list[str]]:
    """Run ``cmd``, echoing its output indented (credentials masked); return (code, lines).

    Lines for which ``hide`` is true are kept in the result but not echoed.
    """
    lines: list[str] = []
    with subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL) as proc:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = mask_values(mask_credentials(raw.decode("utf-8", "replace")), secrets)
            lines.append(line)
            if echo and not (hide and hide(line)):
                output.indent_lines([line])
    return proc.returncode, lines
