"""Benchmark: our build vs. what a user would do by hand, on this machine, in one run.

Scenarios per fixture app, each repeated ``--runs`` times (medians reported):
- cold:    empty build cache (ours) / fresh venv with a warm pip or uv cache (theirs)
- warm:    rebuild with nothing changed
- changed: rebuild after one requirement was added
plus the slug size (our build dir packed as .tar.gz).

Everyone installs from the same local package index (pypiserver on loopback, as the
tests use) and the same CPython version, so the numbers compare the tools, not the
network. Writes bench/results/latest.json and prints a Markdown table.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from tests import support

APPS = ("flask-app", "gunicorn-app", "bench-large-app")
SCENARIOS = ("cold", "warm", "changed")
EXTRA_REQUIREMENT = "six==1.17.0"
RESULTS = Path(__file__).resolve().parent / "results"


def timed_build(app: Path, cache: Path, env: dict[str, str]) -> tuple[float, dict[str, float]]:
    """Run bin/compile; return total seconds and seconds per `----->` step."""
    steps: dict[str, float] = {}
    start = time.monotonic()
    current, since = "start", start
    proc = subprocess.Popen([str(support.BIN / "compile"), str(app), str(cache)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            stdin=subprocess.DEVNULL)
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("-----> "):
            now = time.monotonic()
            steps[current] = steps.get(current, 0.0) + now - since
            current, since = _step_name(line), now
    proc.wait()
    end = time.monotonic()
    steps[current] = steps.get(current, 0.0) + end - since
    if proc.returncode != 0:
        raise RuntimeError("build failed:\n" + "".join(lines[-30:]))
    return end - start, steps


def _step_name(line: str) -> str:
    text = line[7:].strip()
    for prefix in ("Preparing Python runtime", "Installing dependencies", "Installing pip",
                   "Discovering process types", "Discarding cache", "No Python version", "Using Python"):
        if text.startswith(prefix):
            return "Version selection" if prefix in ("No Python version", "Using Python") else prefix
    return text.split("(")[0].strip()


def slug_size(build_dir: Path, scratch: Path) -> int:
    slug = scratch / "slug.tgz"
    with tarfile.open(slug, "w:gz") as tar:
        tar.add(build_dir, arcname=".")
    size = slug.stat().st_size
    slug.unlink()
    return size


def add_requirement(app: Path) -> None:
    with open(app / "requirements.txt", "a") as fh:
        fh.write(EXTRA_REQUIREMENT + "\n")


def ours(name: str, scenario: str, work: Path, env: dict[str, str], cache: Path) -> tuple[float, dict, Path]:
    app = support.copy_fixture(name, work / f"ours-{scenario}")
    if scenario == "cold":
        shutil.rmtree(cache, ignore_errors=True)
    if scenario == "changed":
        add_requirement(app)
    total, steps = timed_build(app, cache, env)
    return total, steps, app


def by_hand(tool: str, name: str, scenario: str, work: Path, python: Path, index_url: str,
            cache: Path) -> float:
    """venv + pip install -r (or uv venv + uv pip install -r), warm tool cache."""
    app = support.copy_fixture(name, work / f"{tool}-{scenario}")
    if scenario == "changed":
        add_requirement(app)
    venv = app / ".venv"
    env = support.clean_pip_env()
    env.update(PIP_INDEX_URL=index_url, PIP_CACHE_DIR=str(cache / "pip"), UV_INDEX_URL=index_url,
               UV_CACHE_DIR=str(cache / "uv"), UV_PYTHON_DOWNLOADS="never")
    uv = str(Path(sys.executable).parent / "uv")
    if tool == "pip":
        commands = [[str(python), "-m", "venv", str(venv)],
                    [str(venv / "bin/python"), "-m", "pip", "install", "-q", "-r", "requirements.txt"]]
    else:
        commands = [[uv, "venv", "-q", "--python", str(python), str(venv)],
                    [uv, "pip", "install", "-q", "--python", str(venv / "bin/python"),
                     "-r", "requirements.txt"]]
    start = time.monotonic()
    for cmd in commands:
        subprocess.run(cmd, cwd=app, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - start


def median(values: list[float]) -> float:
    return round(statistics.median(values), 2)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--apps", nargs="*", default=list(APPS))
    args = parser.parse_args(argv)

    store = support.ensure_store()
    index = support.start_index(support.ensure_index_packages())
    python = support.find_prefix("3.13") / "bin" / "python3.13"
    env = support.build_env(str(store), index.url)
    results: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                 "arch": platform.machine()},
                     "runs": args.runs, "apps": {}}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
            root = Path(tmp)
            for name in args.apps:
                per: dict = {s: {"ours": [], "pip": [], "uv": []} for s in SCENARIOS}
                steps: dict = {s: [] for s in SCENARIOS}
                size = 0
                tool_cache = root / f"{name}-tool-cache"
                # Warm the pip and uv caches once, as a user's machine would have them.
                by_hand("pip", name, "cold", root / "warmup", python, index.url, tool_cache)
                by_hand("uv", name, "cold", root / "warmup", python, index.url, tool_cache)
                for run in range(args.runs):
                    cache = root / f"{name}-cache-{run}"
                    for scenario in SCENARIOS:
                        work = root / f"{name}-{run}"
                        total, step_times, app = ours(name, scenario, work, env, cache)
                        per[scenario]["ours"].append(total)
                        steps[scenario].append(step_times)
                        if scenario == "cold" and run == 0:
                            size = slug_size(app, root)
                        for tool in ("pip", "uv"):
                            per[scenario][tool].append(
                                by_hand(tool, name, scenario, work, python, index.url, tool_cache))
                        shutil.rmtree(work / f"ours-{scenario}", ignore_errors=True)
                        print(f"{name} run {run + 1} {scenario}: ours {total:.1f}s", file=sys.stderr)
                results["apps"][name] = {
                    "slug_bytes": size,
                    "scenarios": {
                        s: {
                            "ours": median(per[s]["ours"]), "pip": median(per[s]["pip"]),
                            "uv": median(per[s]["uv"]),
                            "ours_over_pip": round(median(per[s]["ours"]) / median(per[s]["pip"]), 2),
                            "ours_over_uv": round(median(per[s]["ours"]) / median(per[s]["uv"]), 2),
                            "steps": {k: median([r.get(k, 0.0) for r in steps[s]])
                                      for k in sorted({k for r in steps[s] for k in r})},
                        } for s in SCENARIOS},
                }
    finally:
        index.stop()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    print(render_markdown(results))
    return 0


def render_markdown(results: dict) -> str:
    lines = [f"Medians of {results['runs']} runs on {results['machine']['cpus']} CPUs "
             f"({results['machine']['arch']}); seconds.", "",
             "| app | scenario | ours | venv+pip | uv | ours/pip | ours/uv |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for name, data in results["apps"].items():
        for scenario, row in data["scenarios"].items():
            lines.append(f"| {name} | {scenario} | {row['ours']} | {row['pip']} | {row['uv']} | "
                         f"{row['ours_over_pip']} | {row['ours_over_uv']} |")
    lines += ["", "| app | slug (.tar.gz) |", "|---|---:|"]
    for name, data in results["apps"].items():
        lines.append(f"| {name} | {data['slug_bytes'] / 1024 / 1024:.1f} MB |")
    lines += ["", "Our build, per step (median seconds):", ""]
    for name, data in results["apps"].items():
        for scenario, row in data["scenarios"].items():
            parts = ", ".join(f"{k} {v}" for k, v in row["steps"].items() if v >= 0.01)
            lines.append(f"- {name} / {scenario}: {parts}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
