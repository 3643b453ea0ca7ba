"""Two CPU processes on gloo under torchrun: DDP gradients equal single-process gradients on the same
global batch; a distributed run writes checkpoints once and gathers evaluation results in order."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from segdet import testing as toy

HERE = Path(__file__).resolve().parent

_WORKER = textwrap.dedent("""
    import json, logging, os, sys
    import torch
    from segdet import testing as toy
    from segdet.engine.dist import init_dist, get_dist_info, wrap_for_training, all_gather_object
    from segdet.engine.env import set_random_seed
    from segdet.data.builder import build_dataloader
    from segdet.engine.test import multi_gpu_test, single_gpu_test
    from segdet.engine.train import train_model
    from segdet.registry import build

    out = sys.argv[1]
    device = init_dist("pytorch", device="cpu")
    rank, world = get_dist_info()
    assert world == 2 and torch.distributed.get_backend() == "gloo"

    # 1. one DDP step on this rank's half of a fixed global batch
    torch.manual_seed(0)
    model = toy.LinearToy()
    step = wrap_for_training(model, device, distributed=True)
    batch = toy.linear_batches(1, batch_size=4, seed=7)[0]
    mine = {{k: v[2 * rank: 2 * rank + 2] for k, v in batch.items()}}
    step(mine, "train_step", None)["loss"].backward()
    grads = {{n: p.grad.tolist() for n, p in model.named_parameters()}}
    if rank == 0:
        json.dump(grads, open(os.path.join(out, "ddp_grads.json"), "w"))

    # 2. a short distributed training run with evaluation
    cfg = toy.toy_config(os.path.join(out, "work"), runner=dict(type="EpochBasedRunner", max_epochs=1))
    set_random_seed(0)
    det = build(cfg["model"], "detectors")
    ds = build(cfg["data"]["train"], "datasets")
    runner = train_model(det, [ds], cfg, distributed=True, validate=True, device=device,
                         logger=logging.getLogger("segdet"))
    weights = all_gather_object(runner.model.state_dict()["bbox_head.fc.weight"])
    assert torch.equal(weights[0], weights[1]), "ranks diverged"

    # 3. multi_gpu_test gathers every result in data set order
    val = build(dict(type="ToyDataset", num=5, seed=1, test_mode=True), "datasets")
    dist_results = multi_gpu_test(runner.model, build_dataloader(val, 1, 0, dist=True, shuffle=False))
    if rank == 0:
        local = single_gpu_test(runner.model, build_dataloader(val, 1, 0, dist=False, shuffle=False))
        assert len(dist_results) == 5
        for a, b in zip(dist_results, local):
            assert torch.allclose(a["bboxes"], b["bboxes"]) and torch.equal(a["labels"], b["labels"])
        open(os.path.join(out, "ok"), "w").write("ok")
""")


@pytest.mark.slow
def test_two_process_gloo_matches_single_process(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(_WORKER.format(here=str(HERE)))
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(HERE))
    # --standalone: torchrun picks a free port itself, so no other process can take it in between
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(script), str(tmp_path)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    assert (tmp_path / "ok").exists()

    import json

    ddp = json.loads((tmp_path / "ddp_grads.json").read_text())
    torch.manual_seed(0)
    model = toy.LinearToy()
    batch = toy.linear_batches(1, batch_size=4, seed=7)[0]
    model.train_step(batch)["loss"].backward()
    for name, p in model.named_parameters():
        assert torch.allclose(torch.tensor(ddp[name]), p.grad, atol=1e-6), name

    work = tmp_path / "work"
    assert sorted(p.name for p in work.glob("*.pth")) == ["epoch_1.pth", "latest.pth"]
    assert len(list(work.glob("*.log.json"))) == 1
