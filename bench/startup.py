"""Wall time of `segdet list-components` and `check-config`, in this environment and in larger ones.

Two tables, medians of runs alternated between cases so the machine's load hits every case alike:

1. startup: `python -c pass`, `segdet list-components`, `segdet --help`, `import torch`. The listing
   reads entry-point metadata only, so it should cost close to a bare interpreter start and far
   less than importing torch.
2. discovery at scale: the same commands with 0 / 100 / 350 extra distributions put on the
   subprocess's path (``PYTHONPATH``, so the real segdet and its plugins stay importable). The extra
   distributions are metadata-only ``*.dist-info`` folders written into a temporary directory: for
   350, 300 unrelated ones (console scripts, pytest plugins, ...) and 50 segdet plugins declaring
   three components each, whose modules do not exist (listing must not import them). The listing is
   timed with the discovery cache warm (the normal case: it was filled by an earlier run in the same
   environment state) and with ``--no-cache`` (every run scans, as the first run after an install
   does); the last column is the cost per extra distribution against the 0-extra row.

Usage: ``python bench/startup.py [--runs 7] [--check-runs 3] [--extra 0,100,350]``.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

SEGDET = str(Path(sys.executable).with_name("segdet"))
ROOT = Path(__file__).resolve().parents[1]
PLUGIN_EVERY = 7  # one extra distribution in 7 is a segdet plugin: 50 of 350
_WORDS = ("alpha", "bravo", "cargo", "delta", "ember", "flux", "garnet", "harbor", "iris", "jolt",
          "kite", "lumen", "mesa", "nova", "orbit", "pylon", "quartz", "relay", "sable", "tensor")
CONFIG = "configs/retinanet/retinanet_r18_fpn_shapes.py"  # small: ResNet-18, FPN, RetinaHead


def _metadata(name: str, version: str, rng: random.Random) -> str:
    """A METADATA file of the size real ones have (a few kB, mostly the long description)."""
    requires = "".join(f"Requires-Dist: {rng.choice(_WORDS)}-{rng.choice(_WORDS)}>={rng.randint(0, 9)}.0\n"
                       for _ in range(rng.randint(0, 6)))
    body = "\n".join(" ".join(rng.choice(_WORDS) for _ in range(12)) for _ in range(rng.randint(20, 80)))
    return (f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: {name} for the bench\n"
            f"License: MIT\nRequires-Python: >=3.8\n{requires}"
            f"Description-Content-Type: text/markdown\n\n# {name}\n\n{body}\n")


def _unrelated_entry_points(module: str, rng: random.Random) -> str | None:
    kind = rng.randrange(4)
    if kind == 0:  # a library without entry points (no entry_points.txt at all)
        return None
    text = "[console_scripts]\n" + "".join(f"{module.replace('_', '-')}-{w} = {module}.cli:{w}\n"
                                           for w in rng.sample(_WORDS, rng.randint(1, 4)))
    if kind >= 2:
        text += f"\n[pytest11]\n{module} = {module}.plugin\n"
    if kind == 3:
        text += f"\n[flake8.extension]\nX{rng.randint(100, 999)} = {module}.checker:Checker\n"
    return text


def _plugin_entry_points(i: int) -> str:
    module = f"segdet_benchplugin_{i}"
    return (f"[segdet.plugin_api]\n1.0 = {module}\n\n"
            f"[segdet.necks]\nBenchNeck{i} = {module}.neck:BenchNeck{i}\n\n"
            f"[segdet.heads]\nBenchHead{i} = {module}.head:BenchHead{i}\n\n"
            f"[segdet.losses]\nBenchLoss{i} = {module}.loss:BenchLoss{i}\n")


def write_distributions(folder: Path, count: int, seed: int = 0) -> int:
    """Write ``count`` metadata-only distributions into ``folder``; returns how many are plugins."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    plugins = 0
    for i in range(count):
        entry_points: str | None
        if i % PLUGIN_EVERY == PLUGIN_EVERY - 1:
            name, entry_points = f"segdet-benchplugin-{i}", _plugin_entry_points(i)
            plugins += 1
        else:
            module = f"benchdist_{rng.choice(_WORDS)}_{i}"
            name, entry_points = module.replace("_", "-"), _unrelated_entry_points(module, rng)
        version = f"{rng.randint(0, 5)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}"
        info = folder / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(_metadata(name, version, rng))
        (info / "WHEEL").write_text("Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        (info / "INSTALLER").write_text("pip\n")
        (info / "top_level.txt").write_text(name.replace("-", "_") + "\n")
        (info / "RECORD").write_text(f"{info.name}/METADATA,,\n{info.name}/RECORD,,\n")
        if entry_points is not None:
            (info / "entry_points.txt").write_text(entry_points)
    return plugins


def _env(extra_dir: Path | None, cache_dir: Path) -> dict[str, str]:
    # bytecode is written and reused, as after a normal install (pip compiles it); this machine's
    # shells set PYTHONDONTWRITEBYTECODE, which would make every run compile the edited sources
    env = dict(os.environ, SEGDET_CACHE_DIR=str(cache_dir), OMP_NUM_THREADS="1")
    env.pop("SEGDET_NO_CACHE", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    paths = [str(extra_dir)] if extra_dir is not None else []
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    if paths:
        env["PYTHONPATH"] = os.pathsep.join(paths)
    else:
        env.pop("PYTHONPATH", None)
    return env


Timing = tuple[float, float]  # wall seconds, CPU seconds (user + system) of the child


FAILED: dict[str, str] = {}  # case -> why, for commands that may fail for reasons outside discovery


def _runner(cmd: list[str], env: dict[str, str], may_fail: str = "") -> Callable[[], Timing]:
    """A timed run of ``cmd``; with ``may_fail`` (the case's name) a failure is recorded, not raised."""
    def run() -> Timing:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(cmd, check=not may_fail, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE if may_fail else None, text=True, env=env, cwd=ROOT)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode:
            FAILED[may_fail] = f"exit {proc.returncode}: {(proc.stderr or '').strip().splitlines()[-1:]}"
        return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return run


def _medians(cases: dict[str, Callable[[], Timing]], runs: int) -> dict[str, Timing]:
    """Run every case once per round, in a rotating order, and return each case's medians."""
    times: dict[str, list[Timing]] = {name: [] for name in cases}
    names = list(cases)
    for r in range(runs):
        for name in names[r % len(names):] + names[:r % len(names)]:
            times[name].append(cases[name]())
    return {name: (statistics.median(w for w, _ in t), statistics.median(c for _, c in t))
            for name, t in times.items()}


def _count_listed(env: dict[str, str]) -> int:
    out = subprocess.run([SEGDET, "list-components", "--json"], check=True, capture_output=True, text=True,
                         env=env, cwd=ROOT).stdout
    return len(json.loads(out))


def startup_table(runs: int, cache_dir: Path) -> None:
    env = _env(None, cache_dir)
    for _ in range(2):  # fill the discovery cache and the bytecode
        subprocess.run([SEGDET, "list-components"], check=True, stdout=subprocess.DEVNULL, env=env)
    cases = {
        "python -c pass": _runner([sys.executable, "-c", "pass"], env),
        "segdet list-components": _runner([SEGDET, "list-components"], env),
        "segdet --help": _runner([SEGDET, "--help"], env),
        "python -c 'import torch'": _runner([sys.executable, "-c", "import torch"], env),
    }
    results = _medians(cases, runs)
    base = results["python -c pass"][0]
    print(f"startup, median of {runs} runs")
    print(f"{'command':<28} {'wall (s)':>8} {'cpu (s)':>8} {'x python':>9}")
    for name, (wall, cpu) in results.items():
        print(f"{name:<28} {wall:8.3f} {cpu:8.3f} {wall / base:9.1f}")


def scale_table(extras: list[int], runs: int, check_runs: int, tmp: Path) -> None:
    dirs: dict[int, Path | None] = {}
    for n in extras:
        dirs[n] = None if n == 0 else tmp / f"extra-{n}"
        if dirs[n] is not None:
            write_distributions(dirs[n], n)  # type: ignore[arg-type]
    cases: dict[str, Callable[[], Timing]] = {}
    check_cases: dict[str, Callable[[], Timing]] = {}
    listed: dict[int, int] = {}
    for n, folder in dirs.items():
        env = _env(folder, tmp / f"cache-{n}")
        listed[n] = _count_listed(env)  # also fills this environment's cache
        cases[f"list-components {n}"] = _runner([SEGDET, "list-components"], env)
        cases[f"list-components --no-cache {n}"] = _runner([SEGDET, "list-components", "--no-cache"], env)
        check_cases[f"check-config {n}"] = _runner([SEGDET, "check-config", CONFIG], env, f"check-config {n}")
    results = _medians(cases, runs)
    if check_runs > 0:
        results.update(_medians(check_cases, check_runs))
    print(f"\ndiscovery at scale: extra metadata-only distributions on PYTHONPATH, 1 in {PLUGIN_EVERY} a segdet "
          f"plugin with 3 components;\nlist-components median of {runs} runs (cached: the cache was filled by an "
          f"earlier run), check-config ({CONFIG}) median of {check_runs}; per dist = (time - time at "
          f"{extras[0]}) / extra dists")
    print(f"{'command':<27} {'extra':>5} {'plugins':>7} {'listed':>6} {'wall (s)':>8} {'cpu (s)':>8} "
          f"{'wall ms/dist':>12} {'cpu ms/dist':>11}")
    base = extras[0]
    for command in ("list-components", "list-components --no-cache", "check-config"):
        for n in extras:
            timing = results.get(f"{command} {n}")
            if timing is None:
                continue
            per = ["-", "-"]
            if n != base:
                ref = results[f"{command} {base}"]
                per = [f"{(timing[k] - ref[k]) / (n - base) * 1000:.3f}" for k in (0, 1)]
            print(f"{command:<27} {n:>5} {n // PLUGIN_EVERY:>7} {listed[n]:>6} {timing[0]:8.3f} {timing[1]:8.3f} "
                  f"{per[0]:>12} {per[1]:>11}")
    for case, why in FAILED.items():
        print(f"note: {case} failed ({why}); its time is that of a failing run")


_IN_PROCESS = """
import json, sys, time
from importlib import metadata
from segdet.registry import discovery

def best(fn, n):
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)

def scan():
    discovery.refresh()
    discovery.discover()

def hit():
    discovery.refresh()
    discovery.discover(cached=True)

def stdlib():
    metadata.entry_points(group="segdet.necks")

hit()  # fills the cache
what, n = sys.argv[1], int(sys.argv[2])
print(json.dumps({"dists": len(list(metadata.distributions())), what: best(globals()[what], n)}))
"""


def in_process_table(extras: list[int], runs: int, tmp: Path) -> None:
    """Discovery alone, inside one process (no interpreter start): best of ``runs`` calls."""
    rows = {}
    for n in extras:
        env = _env(None if n == 0 else tmp / f"extra-{n}", tmp / f"cache-inproc-{n}")
        rows[n] = {}
        for what in ("scan", "hit", "stdlib"):  # one process each: garbage left by one must not slow another
            out = subprocess.run([sys.executable, "-c", _IN_PROCESS, what, str(runs)], check=True,
                                 capture_output=True, text=True, env=env, cwd=ROOT).stdout
            rows[n].update(json.loads(out))
    print(f"\ndiscovery inside one process, best of {runs} calls (ms); per dist = (time - time at {extras[0]}) / "
          "extra dists\nscan: segdet's metadata scan (what building and check-config use); cached: the listing's "
          "cache hit (fingerprint + read);\nstdlib: importlib.metadata.entry_points(group='segdet.necks'), "
          "for reference")
    print(f"{'extra':>5} {'dists':>5} {'scan':>7} {'cached':>7} {'stdlib':>7} {'scan/dist':>9} {'cached/dist':>11} "
          f"{'stdlib/dist':>11}")
    base = rows[extras[0]]
    for n in extras:
        r = rows[n]
        per = ["-"] * 3 if n == extras[0] else [f"{(r[k] - base[k]) / (n - extras[0]) * 1000:.4f}"
                                                for k in ("scan", "hit", "stdlib")]
        print(f"{n:>5} {r['dists']:>5} {r['scan'] * 1000:7.2f} {r['hit'] * 1000:7.2f} {r['stdlib'] * 1000:7.2f} "
              f"{per[0]:>9} {per[1]:>11} {per[2]:>11}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--check-runs", type=int, default=3, help="runs of check-config (0: skip it)")
    parser.add_argument("--extra", default="0,100,350", help="comma-separated numbers of extra distributions")
    args = parser.parse_args()
    extras = sorted({int(x) for x in args.extra.split(",")})
    with tempfile.TemporaryDirectory(prefix="segdet-bench-startup-") as tmp:
        startup_table(args.runs, Path(tmp) / "cache-startup")
        scale_table(extras, args.runs, args.check_runs, Path(tmp))
        in_process_table(extras, 3 * args.runs, Path(tmp))


if __name__ == "__main__":
    main()
