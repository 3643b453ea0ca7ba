"""Run ``segdet train CFG --debug`` on a shapes config with a tiny shapes set (helper of the
test_shapes_debug_* files, split in two so that xdist runs them side by side)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SEGDET = str(Path(sys.executable).with_name("segdet"))


def shapes_configs(kind: str) -> list[str]:
    """Shipped shapes configs of ``kind`` ('detection' or 'segmentation'), by their data set base."""
    out = []
    for path in sorted(REPO.glob("configs/*/*shapes*.py")):
        text = path.read_text()
        semantic = "shapes_semantic" in text or "EncoderDecoder" in text
        if (kind == "segmentation") == semantic:
            out.append(str(path.relative_to(REPO)))
    return out


def make_data(root: Path) -> None:
    subprocess.run([SEGDET, "data", "shapes", "--out", "data/shapes", "--seed", "0", "--num-train", "8",
                    "--num-val", "4"], cwd=root, check=True, capture_output=True, timeout=300)


def run_debug(config: str, root: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run([SEGDET, "train", str(REPO / config), "--debug", "--seed", "0", "--device", "cpu",
                           "--work-dir", str(root / Path(config).stem)], cwd=root, env=env,
                          capture_output=True, text=True, timeout=900)
