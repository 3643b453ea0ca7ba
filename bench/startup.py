"""Wall time of `segdet list-components` against `python -c pass` and `import torch`.

The listing reads entry-point metadata only, so it should cost close to a bare
interpreter start and far less than importing torch. Prints a table of medians.
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = 7
SEGDET = str(Path(sys.executable).with_name("segdet"))


def _median_seconds(cmd: list[str]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    cases = [
        ("python -c pass", [sys.executable, "-c", "pass"]),
        ("segdet list-components", [SEGDET, "list-components"]),
        ("segdet --help", [SEGDET, "--help"]),
        ("python -c 'import torch'", [sys.executable, "-c", "import torch"]),
    ]
    results = [(name, _median_seconds(cmd)) for name, cmd in cases]
    base = results[0][1]
    print(f"startup, median of {RUNS} runs")
    print(f"{'command':<28} {'seconds':>8} {'x python':>9}")
    for name, secs in results:
        print(f"{name:<28} {secs:8.3f} {secs / base:9.1f}")


if __name__ == "__main__":
    main()
