"""Benchmark: our build (uv and pip engines) vs. what a user would do by hand, in one run.

Scenarios per app, each repeated ``--runs`` times (medians, with min-max as the noise):

- cold:     empty build cache, runtime included (ours) / a fresh venv (by hand)
- warm:     rebuild with nothing changed
- added:    one requirement added (``iniconfig``)
- removed:  that requirement removed again
- upgraded: one requirement upgraded (``iniconfig`` 2.1.0 -> 2.3.1; the build with the
            old version is set-up, not timed)

Ours runs each chain on one build cache per engine (``uv``, the default, and
``PYTHON_INSTALLER=pip``); the build that precedes each scenario is the previous one in
the chain, as on a platform. By hand is ``python -m venv`` + ``pip install -r`` and
``uv venv`` + ``uv pip install -r``, each into a fresh venv with a cache warmed before the
first run (so a by-hand "cold" is a user's machine with its caches, ours starts from
nothing); cold, warm and removed install the same set by hand (and added and upgraded
another), so each set is timed once per run and reported for each of its scenarios. Everyone installs from one local package index (pypiserver on loopback, as the
tests use) and the same CPython, so the numbers compare the tools, not the network.

Writes bench/results/latest.json, bench/results/chart.png (with matplotlib, a dev
dependency) and prints Markdown.
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
import tempfile
import time
from pathlib import Path

from tests import support

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
BENCH_APPS = BENCH / "apps"
APPS = ("flask-app", "gunicorn-app", "django-app", "bench-large-app", "django-celery-data")
SCENARIOS = ("cold", "warm", "added", "removed", "upgraded")
TOOLS = ("ours-uv", "ours-pip", "venv+pip", "uv")
ADDED = "iniconfig==2.3.1"
OLD = "iniconfig==2.1.0"
EXTRA_PACKAGES = [ADDED, OLD]  # served by the bench's index besides the apps' requirements
TIMEOUT = 1800


def app_source(name: str) -> Path:
    return BENCH_APPS / name if (BENCH_APPS / name).is_dir() else support.FIXTURES / name


def ensure_bench_packages() -> Path:
    """The test index's packages (with the pinned tools: uv is the default engine) plus the
    bench apps' and the scenarios' (downloaded once)."""
    packages = support.ensure_tool_packages()
    reqs = sorted(BENCH_APPS.glob("*/requirements.txt"))
    stamp = support.INDEX_DIR / ".bench-fingerprint"
    want = "".join(p.read_text() for p in reqs) + ",".join(EXTRA_PACKAGES)
    if stamp.is_file() and stamp.read_text() == want:
        return packages
    arch = platform.machine()
    # One download per set: the scenarios' extra versions conflict with each other.
    for args in [[a for r in reqs for a in ("-r", str(r))]] + [[e] for e in EXTRA_PACKAGES]:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "-d", str(packages),
                        "--only-binary=:all:", "--python-version", "3.13", "--implementation",
                        "cp", "--platform", f"manylinux_2_28_{arch}", "--platform",
                        f"manylinux2014_{arch}", "--platform", f"manylinux_2_17_{arch}",
                        "--no-deps", *args], check=True, env=support.clean_pip_env())
    stamp.write_text(want)
    return packages


def requirements_for(name: str, extra: str | None) -> str:
    text = (app_source(name) / "requirements.txt").read_text()
    return text + (f"{extra}\n" if extra else "")


# (scenario, the extra requirement it builds with); upgraded is preceded by a set-up build.
CHAIN = (("cold", None), ("warm", None), ("added", ADDED), ("removed", None),
         ("upgraded", ADDED))


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
    proc.wait(timeout=TIMEOUT)
    end = time.monotonic()
    steps[current] = steps.get(current, 0.0) + end - since
    if proc.returncode != 0:
        raise RuntimeError("build failed:\n" + "".join(lines[-30:]))
    return end - start, steps


def _step_name(line: str) -> str:
    text = line[7:].strip()
    for prefix in ("Preparing Python runtime", "Installing dependencies", "Installing pip",
                   "Installing uv", "Using cached uv", "Discovering process types",
                   "Discarding cache", "Updating the cached environment", "No Python version",
                   "Using Python"):
        if text.startswith(prefix):
            return "Version selection" if prefix in ("No Python version", "Using Python") else prefix
    return text.split("(")[0].strip()


def fresh_app(name: str, where: Path, extra: str | None) -> Path:
    shutil.rmtree(where, ignore_errors=True)
    shutil.copytree(app_source(name), where)
    (where / "requirements.txt").write_text(requirements_for(name, extra))
    return where


def ours_chain(name: str, engine: str, work: Path, env: dict[str, str]) -> dict:
    """One run of the scenario chain on a new cache: scenario -> (seconds, steps)."""
    cache = work / f"cache-{engine}"
    shutil.rmtree(cache, ignore_errors=True)
    env = {**env, "PYTHON_INSTALLER": engine}
    found = {}
    for scenario, extra in CHAIN:
        if scenario == "upgraded":  # set-up: the previous build had the old version
            timed_build(fresh_app(name, work / "app", OLD), cache, env)
        found[scenario] = timed_build(fresh_app(name, work / "app", extra), cache, env)
    shutil.rmtree(work / "app", ignore_errors=True)
    return found


def by_hand(tool: str, name: str, extra: str | None, work: Path, python: Path,
            index_url: str, cache: Path) -> float:
    """venv + pip install -r (or uv venv + uv pip install -r) into a fresh venv."""
    app = fresh_app(name, work / f"by-hand-{tool}", extra)
    venv = app / ".venv"
    env = support.clean_pip_env()
    env.update(PIP_INDEX_URL=index_url, PIP_CACHE_DIR=str(cache / "pip"), UV_INDEX_URL=index_url,
               UV_CACHE_DIR=str(cache / "uv"), UV_PYTHON_DOWNLOADS="never")
    uv = str(Path(sys.executable).parent / "uv")
    if tool == "venv+pip":
        commands = [[str(python), "-m", "venv", str(venv)],
                    [str(venv / "bin/python"), "-m", "pip", "install", "-q", "-r",
                     "requirements.txt"]]
    else:
        commands = [[uv, "venv", "-q", "--python", str(python), str(venv)],
                    [uv, "pip", "install", "-q", "--python", str(venv / "bin/python"),
                     "-r", "requirements.txt"]]
    start = time.monotonic()
    for cmd in commands:
        subprocess.run(cmd, cwd=app, env=env, check=True, stdout=subprocess.DEVNULL,
                       timeout=TIMEOUT)
    elapsed = time.monotonic() - start
    shutil.rmtree(app)
    return elapsed


def machine() -> dict:
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in
                   Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {"cpus": os.cpu_count(), "cpu": cpu, "memory": mem, "arch": platform.machine(),
            "kernel": platform.release(), "python": platform.python_version()}


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def summarize(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 2), "min": round(min(values), 2),
            "max": round(max(values), 2), "runs": [round(v, 2) for v in values]}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--apps", nargs="*", default=list(APPS))
    parser.add_argument("--tools", nargs="*", default=list(TOOLS))
    parser.add_argument("--merge", action="store_true",
                        help="add to bench/results/latest.json instead of replacing it")
    args = parser.parse_args(argv)

    store = support.ensure_store()
    index = support.start_index(ensure_bench_packages())
    python = support.find_prefix("3.13") / "bin" / "python3.13"
    env = support.build_env(str(store), index.url)
    session = {"started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               "load_before": load(), "runs": args.runs, "apps": args.apps, "tools": args.tools}
    results: dict = {"machine": machine(), "sessions": [session], "apps": {}}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
            root = Path(tmp)
            for name in args.apps:
                times: dict = {s: {t: [] for t in args.tools} for s in SCENARIOS}
                steps: dict = {s: {t: [] for t in args.tools if t.startswith("ours")}
                               for s in SCENARIOS}
                tool_cache = root / f"{name}-tool-cache"
                for tool in ("venv+pip", "uv"):  # a user's machine has warm caches
                    if tool in args.tools:
                        by_hand(tool, name, ADDED, root / "warmup", python, index.url, tool_cache)
                        by_hand(tool, name, OLD, root / "warmup", python, index.url, tool_cache)
                for run in range(args.runs):
                    for tool in args.tools:
                        if tool.startswith("ours"):
                            chain = ours_chain(name, tool[5:], root / name, env)
                            for scenario, (total, step_times) in chain.items():
                                times[scenario][tool].append(total)
                                steps[scenario][tool].append(step_times)
                            continue
                        # By hand, a scenario is a fresh venv with its requirements: cold,
                        # warm and removed install the same set, added and upgraded the same
                        # set plus one; each distinct set is timed once per run.
                        timed: dict[str | None, float] = {}
                        for scenario, extra in CHAIN:
                            if extra not in timed:
                                timed[extra] = by_hand(tool, name, extra, root / name, python,
                                                       index.url, tool_cache)
                            times[scenario][tool].append(timed[extra])
                    print(f"{name} run {run + 1}/{args.runs}: " + ", ".join(
                        f"{s} {times[s].get('ours-uv', [0])[-1]:.1f}s" for s in SCENARIOS),
                        f"(load {load()})", file=sys.stderr)
                results["apps"][name] = {
                    s: {"times": {t: summarize(v) for t, v in times[s].items()},
                        "runs": args.runs,
                        "steps": {t: {k: round(statistics.median(r.get(k, 0.0) for r in runs), 2)
                                      for k in sorted({k for r in runs for k in r})}
                                  for t, runs in steps[s].items()}}
                    for s in SCENARIOS}
    finally:
        index.stop()
    session["load_after"] = load()
    if args.merge and (RESULTS / "latest.json").is_file():
        results = merge(json.loads((RESULTS / "latest.json").read_text()), results)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    chart(results, RESULTS / "chart.png")
    print(render_markdown(results))
    return 0


def merge(old: dict, new: dict) -> dict:
    """``old`` with ``new``'s sessions added and its measurements replacing old ones."""
    sessions = old.get("sessions") or [{  # a file written before sessions were recorded
        "started": old.get("started", "?"), "load_before": old.get("load_before", "?"),
        "load_after": old.get("load_after", "?"), "runs": old.get("runs", "?"),
        "apps": list(old.get("apps", {})),
        "tools": sorted({t for a in old.get("apps", {}).values() for t in a["cold"]["times"]})}]
    merged = {**old, "machine": new["machine"], "sessions": sessions + new["sessions"]}
    apps = merged.setdefault("apps", {})
    for name, scenarios in new["apps"].items():
        for scenario, data in scenarios.items():
            into = apps.setdefault(name, {}).setdefault(scenario, {"times": {}, "steps": {}})
            into["times"].update(data["times"])
            into["steps"].update(data["steps"])
    return merged


def ratio(results: dict, app: str, scenario: str, ours: str, theirs: str) -> float | None:
    times = results["apps"][app][scenario]["times"]
    if ours not in times or theirs not in times:
        return None
    return round(times[ours]["median"] / times[theirs]["median"], 2)


def render_markdown(results: dict) -> str:
    m = results["machine"]
    lines = [f"Seconds: medians of the runs shown (min-max in brackets, n = runs). "
             f"{m['cpus']} CPUs ({m['cpu']}), {m['memory']}, {m['arch']}, Linux {m['kernel']}.",
             ""]
    for session in results["sessions"]:
        lines.append(f"- {session['started']}: {', '.join(session['apps'])} with "
                     f"{', '.join(session['tools'])}, {session['runs']} runs; load average "
                     f"(1, 5, 15 min) before {session['load_before']}, after "
                     f"{session.get('load_after', '?')}")
    tools = list(TOOLS)
    lines += ["", "| app | scenario | " + " | ".join(tools) + " | ours-uv / uv | ours-uv / venv+pip |",
              "|---|---|" + "---:|" * (len(tools) + 2)]
    for name, scenarios in results["apps"].items():
        for scenario, data in scenarios.items():
            cells = [f"{data['times'][t]['median']} ({data['times'][t]['min']}-"
                     f"{data['times'][t]['max']}, n={len(data['times'][t]['runs'])})"
                     if t in data["times"] else "-" for t in tools]
            lines.append(f"| {name} | {scenario} | " + " | ".join(cells) + " | "
                         f"{ratio(results, name, scenario, 'ours-uv', 'uv') or '-'} | "
                         f"{ratio(results, name, scenario, 'ours-uv', 'venv+pip') or '-'} |")
    lines += ["", *render_targets(results)]
    lines += ["", "Our build, per step (median seconds, uv engine):", ""]
    for name, scenarios in results["apps"].items():
        for scenario, data in scenarios.items():
            row = data["steps"].get("ours-uv", {})
            parts = ", ".join(f"{k} {v}" for k, v in row.items() if v >= 0.01)
            lines.append(f"- {name} / {scenario}: {parts}")
    return "\n".join(lines)


LARGE_SETS = ("bench-large-app", "django-celery-data")
# (scenario, the by-hand baseline, the largest ratio allowed); cold on large sets: 0.5.
TARGETS = (("warm", "uv", 1.0), ("added", "uv", 2.0), ("removed", "uv", 2.0),
           ("upgraded", "uv", 2.0), ("cold", "venv+pip", 1.0))


def render_targets(results: dict) -> list[str]:
    """The issue's targets, each app's figure (ours-uv / baseline) and by how much it misses."""
    lines = ["Targets (ours with uv against the by-hand baseline, medians of this run):", "",
             "| app | scenario | target | figure | met |", "|---|---|---:|---:|---|"]
    for name in results["apps"]:
        for scenario, theirs, limit in TARGETS:
            if scenario == "cold" and name in LARGE_SETS:
                limit = 0.5
            figure = ratio(results, name, scenario, "ours-uv", theirs)
            if figure is None:
                continue
            verdict = "yes" if figure <= limit else f"no: {figure / limit:.2f}x the target"
            lines.append(f"| {name} | {scenario} | <= {limit} x {theirs} | {figure} | {verdict} |")
    return lines


def chart(results: dict, path: Path) -> None:
    """Build time by scenario and engine, one panel per app (PNG)."""
    try:
        import matplotlib
    except ImportError:
        print("matplotlib is not installed (requirements-dev.txt): no chart", file=sys.stderr)
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    apps = list(results["apps"])
    fig, axes = plt.subplots(1, len(apps), figsize=(4.2 * len(apps), 3.8), squeeze=False)
    for ax, name in zip(axes[0], apps):
        scenarios = results["apps"][name]
        tools = [t for t in TOOLS if t in scenarios["cold"]["times"]]
        width = 0.8 / len(tools)
        for i, tool in enumerate(tools):
            xs = [j + (i - (len(tools) - 1) / 2) * width for j in range(len(SCENARIOS))]
            med = [scenarios[s]["times"][tool]["median"] for s in SCENARIOS]
            low = [m - scenarios[s]["times"][tool]["min"] for s, m in zip(SCENARIOS, med)]
            high = [scenarios[s]["times"][tool]["max"] - m for s, m in zip(SCENARIOS, med)]
            ax.bar(xs, med, width, yerr=[low, high], capsize=2, label=tool,
                   color=f"C{TOOLS.index(tool)}")
        ax.set_xticks(range(len(SCENARIOS)), SCENARIOS, rotation=30)
        ax.set_title(name)
        ax.set_ylabel("seconds")
        ax.legend(fontsize=8)
    fig.suptitle("Build time (s) by scenario and engine: medians, min-max bars")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
