"""Install pip (pinned, hash-checked) and the app's requirements with it."""
from __future__ import annotations

import subprocess
from pathlib import Path

from buildpack import output, settings
from buildpack.output import BuildError
from buildpack.installers import InstallContext
from buildpack.redact import mask_credentials, mask_values


def bundled_pip_wheel(prefix: Path) -> Path:
    """The pip wheel that ships inside the runtime's ensurepip (used only to bootstrap)."""
    wheels = sorted(prefix.glob("lib/python3*/ensurepip/_bundled/pip-*.whl"))
    if not wheels:
        raise BuildError(
            "The Python runtime has no bundled pip",
            f"{prefix} has no ensurepip/_bundled/pip-*.whl, so pip cannot be installed.\n"
            "The runtime archive is incomplete: rebuild it with bin/build-runtime-store.",
        )
    return wheels[-1]


def run_streamed(cmd: list[str], env: dict[str, str], cwd: Path, secrets: list[str],
                 echo: bool = True) -> tuple[int, list[str]]:
    """Run ``cmd``, echoing its output indented (credentials masked); return (code, lines)."""
    lines: list[str] = []
    with subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL) as proc:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = mask_values(mask_credentials(raw.decode("utf-8", "replace")), secrets)
            lines.append(line)
            if echo:
                output.indent_lines([line])
    return proc.returncode, lines


def install_pip(python: Path, prefix: Path, env: dict[str, str], cwd: Path,
                secrets: list[str]) -> str:
    version = settings.pinned_pip_version()
    output.step(f"Installing pip {version}")
    wheel = bundled_pip_wheel(prefix)
    cmd = [str(python), "-E", "-s", f"{wheel}/pip", "install", "--quiet", "--no-deps",
           "--require-hashes", "--no-warn-script-location", "--no-compile",
           "-r", str(settings.PIP_REQUIREMENTS)]
    if any(settings.BUNDLED_WHEELS.glob("pip-*.whl")):  # an offline bundle: no index needed
        cmd += ["--no-index", "--find-links", str(settings.BUNDLED_WHEELS)]
    code, lines = run_streamed(cmd, env, cwd, secrets, echo=False)
    if code != 0:
        output.indent_lines(lines)
        raise BuildError(
            f"Could not install pip {version}",
            "pip could not be downloaded from the package index (its output is above).\n"
            "If the app uses a private index, check PIP_INDEX_URL and its credentials;\n"
            "the index must also serve pip.",
        )
    return version


def install_requirements(ctx: InstallContext, requirements: Path) -> None:
    output.step(f"Installing dependencies using pip ({ctx.pip_version})")
    cmd = [str(ctx.python), "-m", "pip", "install", "--no-compile", "--no-warn-script-location",
           "-r", str(requirements.relative_to(ctx.app_dir))]
    code, _ = run_streamed(cmd, ctx.env, ctx.app_dir, ctx.secrets)
    if code != 0:
        raise BuildError(
            "Failed to install the app's dependencies with pip",
            f"pip exited with status {code} while installing {requirements.name}; its own\n"
            "error is shown above. Check that every requirement exists on the package\n"
            "index with a version for this Python, and builds from source if it has\n"
            f"no wheel. Reproduce locally with: pip install -r {requirements.name}",
        )
