"""bench/runtime: how fast the store's interpreters run Python code (issue 22, item 3).

A fixed subset of pyperformance (the PyPI package, pinned below), in pyperf's fast
mode, run in the same session on one machine with:

- ``pgo-lto``: the store's default from-source build (``--enable-optimizations --with-lto``);
- ``quick``: the same source built ``--quick`` (no PGO, no LTO);
- ``system``: the host distribution's own ``/usr/bin/python3`` (Debian builds it with
  PGO+LTO). Here it is another minor (3.11), so it is a reference, not a like-for-like.

Both builds come from the machine's build cache (``source_build``; building one that is
missing takes 10 minutes quick, about an hour PGO+LTO). Benchmarks run interleaved (each
benchmark on every interpreter in turn, the order rotating), so load from other work on
the machine falls on all of them alike. The whole set runs ``--rounds`` times (the order
rotating again each round); a benchmark's figure is the median over the rounds of pyperf's
median, and its spread (min-max over the rounds) is kept, so that one disturbed run on a
shared machine cannot make the figure. A time budget stops starting new rounds; only
benchmarks finished on every interpreter in every completed round are reported. The
summary is the geometric mean of the ratios to ``quick``.

Writes ``bench/results/runtime.json``, ``bench/results/runtime.png`` and the section
between the markers in ``bench/RESULTS.md``.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from buildpack.store_builder import cpython_sources, source_build

ROOT = Path(__file__).resolve().parents[1]
PYPERFORMANCE = "pyperformance==1.14.0"
# Pure-Python benchmarks with no third-party dependencies: the interpreter's own speed.
BENCHMARKS = ("chaos", "deltablue", "fannkuch", "float", "go", "json_dumps", "nbody",
              "pickle_pure_python", "raytrace", "regex_v8", "richards", "spectral_norm")
MINOR = "3.13"
RESULTS = ROOT / "bench" / "results"
WORK = ROOT / ".cache" / "bench-runtime"
BEGIN, END = "<!-- bench/runtime: begin -->", "<!-- bench/runtime: end -->"
ONE_RUN_TIMEOUT = 1800  # seconds, one benchmark on one interpreter (the first also makes a venv)


def interpreters(names: list[str]) -> dict[str, Path]:
    pin = cpython_sources.load_pins()[MINOR]
    tarball = cpython_sources.fetch(pin)
    found = {}
    for name, optimize in (("pgo-lto", True), ("quick", False)):
        if name in names:
            found[name] = source_build.build(pin, tarball, optimize=optimize).interpreter.executable
    if "system" in names:
        found["system"] = Path("/usr/bin/python3")
    return found


def version_of(python: Path) -> str:
    return subprocess.run([str(python), "-c", "import sys; print(sys.version.split()[0])"],
                          capture_output=True, text=True, check=True, timeout=60).stdout.strip()


def ensure_pyperformance() -> Path:
    venv = WORK / "tool"
    tool = venv / "bin" / "pyperformance"
    if not tool.is_file():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", PYPERFORMANCE], check=True, timeout=900,
                       env={**os.environ, "PIP_FIND_LINKS": ""})
    return tool


def run_one(tool: Path, python: Path, bench: str, out: Path) -> float | None:
    """pyperf's median seconds for ``bench`` on ``python``, or None if it failed."""
    out.unlink(missing_ok=True)
    proc = subprocess.run([str(tool), "run", "--fast", "--python", str(python), "-b", bench, "-o", str(out)],
                          cwd=WORK, capture_output=True, text=True, timeout=ONE_RUN_TIMEOUT,
                          env={**os.environ, "PIP_FIND_LINKS": ""})
    if proc.returncode != 0 or not out.is_file():
        print(f"  {bench} on {python} failed:\n{proc.stdout[-1500:]}{proc.stderr[-1500:]}", flush=True)
        return None
    data = json.loads(out.read_text())
    values = [v for run in data["benchmarks"][0]["runs"] for v in run.get("values", [])]
    return statistics.median(values) if values else None


def geometric_mean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def text_bars(ratios: dict[str, float]) -> list[str]:
    """A text bar chart of speed relative to quick (longer is faster)."""
    lines = []
    for name, ratio in ratios.items():
        lines.append(f"    {name:8} {'#' * round(ratio * 40):<60} {ratio:.3f}x")
    return lines


def chart(results: dict[str, dict[str, float]], names: list[str], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    benches = sorted(results)
    fig, ax = plt.subplots(figsize=(10, 4.5))
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        speed = [results[b]["quick"] / results[b][name] for b in benches]
        ax.bar([x + i * width for x in range(len(benches))], speed, width, label=name)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks([x + width * (len(names) - 1) / 2 for x in range(len(benches))])
    ax.set_xticklabels(benches, rotation=30, ha="right")
    ax.set_ylabel("speed relative to --quick (higher is faster)")
    ax.set_title(f"bench/runtime: CPython {MINOR} builds (pyperformance, fast mode)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    return True


def _where(session: dict) -> str:
    cpus, pinned = session["cpus"], session.get("affinity")
    if pinned and len(pinned) < cpus:
        return (f"pinned to CPU {', '.join(map(str, pinned))} of {cpus} (`taskset`; the machine's "
                "other work, if any, on the other CPUs)")
    return f"{cpus} CPUs shared with whatever else the machine ran"


def report(session: dict) -> str:
    results: dict[str, dict[str, float]] = session["results"]
    names = list(session["interpreters"])
    benches = sorted(results)
    ratios = {n: geometric_mean([results[b]["quick"] / results[b][n] for b in benches]) for n in names}
    lines = [BEGIN, "## Runtime benchmark (`bench/runtime`)", "",
             f"Reproduce with `bench/runtime` (`--rounds N`, `--budget SECONDS`). Session "
             f"{session['started']} UTC, {_where(session)} (load average {session['load_before']} "
             f"before, {session['load_after']} after), interleaved runs ({PYPERFORMANCE}, `--fast`), "
             f"{session.get('rounds', 1)} rounds at nice {session.get('nice', 0)}. Each figure is the "
             "median over the rounds of pyperf's median, in milliseconds, with the rounds' min-max "
             "in brackets; speed is relative to `--quick` (higher is faster); the summary is the "
             "geometric mean.", "",
             "| interpreter | version | geometric mean speed vs --quick |", "|---|---|---|"]
    for name in names:
        lines.append(f"| {name} | {session['interpreters'][name]['version']} | {ratios[name]:.3f}x |")
    others = [n for n in names if n != "quick"]
    lines += ["", "| benchmark | " + " | ".join(f"{n} (ms)" for n in names) + " | "
              + " | ".join(f"{n} vs quick" for n in others) + " |", "|---|" + "---|" * (len(names) + len(others))]
    for bench in benches:
        spread = session.get("spread", {}).get(bench, {})
        row = " | ".join(f"{results[bench][n] * 1000:.1f}" + (
            f" ({spread[n][0] * 1000:.1f}-{spread[n][1] * 1000:.1f})" if n in spread else "") for n in names)
        speed = " | ".join(f"{results[bench]['quick'] / results[bench][n]:.3f}x" for n in others)
        lines.append(f"| {bench} | {row} | {speed} |")
    lines += ["", "Speed relative to `--quick` (geometric mean):", "", *text_bars(ratios), ""]
    if session.get("chart"):
        lines += ["![bench/runtime chart](results/runtime.png)", ""]
    if session.get("skipped"):
        lines += [f"Not reported (time budget, or a failed run): {', '.join(session['skipped'])}.", ""]
    if "system" in session["interpreters"]:
        lines += ["`system` is Debian's `/usr/bin/python3`, Python "
                  f"{session['interpreters']['system']['version']}: another minor than the store's "
                  f"{MINOR} builds, so its column compares distributions' builds of different "
                  "interpreters, not build flags.", ""]
    lines.append(END)
    return "\n".join(lines) + "\n"


def write_results_md(section: str) -> None:
    path = ROOT / "bench" / "RESULTS.md"
    text = path.read_text(encoding="utf-8")
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + section.rstrip("\n") + rest.split(END, 1)[1]
    else:
        marker = "\n## Results\n"
        head, sep, tail = text.partition(marker)
        text = head + "\n" + section + sep + tail if sep else text + "\n" + section
    path.write_text(text, encoding="utf-8")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench/runtime", description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=3600,
                        help="seconds after which no new benchmark starts (default 3600)")
    parser.add_argument("--benchmarks", default=",".join(BENCHMARKS), help="comma-separated subset")
    parser.add_argument("--rounds", type=int, default=3, choices=range(1, 21), metavar="1-20",
                        help="times the whole set runs; each figure is the median over them (default 3)")
    parser.add_argument("--interpreters", default="pgo-lto,quick,system",
                        help="comma-separated subset of pgo-lto, quick, system (quick is the reference)")
    args = parser.parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + args.budget
    pythons = interpreters(args.interpreters.split(","))
    if "quick" not in pythons:
        parser.error("--interpreters must include quick, the reference")
    tool = ensure_pyperformance()
    session: dict = {"started": time.strftime("%Y-%m-%d %H:%M", time.gmtime()), "cpus": os.cpu_count(),
                     "machine": platform.machine(), "load_before": f"{os.getloadavg()[0]:.1f}",
                     "interpreters": {n: {"path": str(p), "version": version_of(p)} for n, p in pythons.items()},
                     "nice": os.nice(0), "affinity": sorted(os.sched_getaffinity(0)), "results": {}, "spread": {}, "skipped": []}
    names = list(pythons)
    benches = args.benchmarks.split(",")
    values: dict[str, dict[str, list[float]]] = {b: {n: [] for n in names} for b in benches}
    rounds = 0
    for round_no in range(args.rounds):
        if time.monotonic() > deadline:
            break
        for index, bench in enumerate(benches):
            shift = (index + round_no) % len(names)
            for name in names[shift:] + names[:shift]:
                found = run_one(tool, pythons[name], bench, WORK / f"{bench}-{name}.json")
                print(f"round {round_no + 1} {bench:20} {name:8} {found}", flush=True)
                if found is not None:
                    values[bench][name].append(found)
        rounds += 1
    session["rounds"] = rounds
    for bench in benches:
        if all(len(values[bench][n]) == rounds > 0 for n in names):
            session["results"][bench] = {n: statistics.median(values[bench][n]) for n in names}
            session["spread"][bench] = {n: [min(values[bench][n]), max(values[bench][n])] for n in names}
        else:
            session["skipped"].append(bench)
    session["load_after"] = f"{os.getloadavg()[0]:.1f}"
    if not session["results"]:
        print("no benchmark finished on every interpreter", file=sys.stderr)
        return 1
    session["chart"] = chart(session["results"], names, RESULTS / "runtime.png")
    (RESULTS / "runtime.json").write_text(json.dumps(session, indent=2) + "\n", encoding="utf-8")
    section = report(session)
    write_results_md(section)
    print(section)
    shutil.rmtree(WORK / "tmp", ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
