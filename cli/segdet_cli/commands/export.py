"""``segdet export CFG CKPT --format onnx|torchscript``: a trained model as one file another runtime runs.

Detectors are exported with their post-processing (box decoding and NMS: torchvision's ``nms``
becomes ONNX ``NonMaxSuppression``): input ``img`` (1, 3, H, W), normalised as the config's
pipeline normalises; outputs ``bboxes`` (N, 4) in input pixels, ``scores`` (N,), ``labels`` (N,).
Segmentors output ``seg_logits`` (B, num_classes, H, W). ``--verify`` runs the exported file
(onnxruntime for ONNX, ``torch.jit.load`` for TorchScript) on a sample image and compares with PyTorch.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import click
import numpy as np

from ._common import cfg_options_option, load_config

__all__ = ["export"]

#: --verify tolerance: |exported - pytorch| <= ATOL + RTOL * |pytorch|
ATOL, RTOL = 1e-3, 1e-3


def _wrapper(model: Any, shape: tuple[int, int]) -> tuple[Any, list[str]]:
    """An ``nn.Module`` taking only the image tensor, and its output names."""
    import torch

    h, w = shape
    meta = dict(img_shape=(h, w, 3), ori_shape=(h, w, 3), pad_shape=(h, w, 3), flip=False, flip_direction=None,
                scale_factor=np.ones(4, np.float32), batch_input_shape=(h, w))

    if hasattr(model, "encode_decode"):
        class _Seg(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.model = model

            def forward(self, img: torch.Tensor) -> torch.Tensor:
                return self.model.encode_decode(img, [meta] * img.shape[0])

        return _Seg(), ["seg_logits"]
    if hasattr(model, "simple_test") and hasattr(model, "extract_feat"):
        class _Det(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.model = model

            def forward(self, img: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
                result = self.model.simple_test(img, [meta], rescale=False)[0]
                return result["bboxes"], result["scores"], result["labels"]

        return _Det(), ["bboxes", "scores", "labels"]
    raise click.ClickException(f"{type(model).__name__} is neither a detector (simple_test) nor a segmentor "
                               "(encode_decode); export supports those")


def _sample(cfg: Any, shape: tuple[int, int], seed: int = 0) -> Any:
    """A deterministic, image-like, normalised input of ``shape``."""
    import torch

    h, w = shape
    rng = np.random.default_rng(seed)
    img = np.zeros((h, w, 3), np.float32) + rng.uniform(0, 60, 3)
    for _ in range(3):  # a few bright rectangles: something for a detector to find
        x, y = rng.integers(0, w // 2), rng.integers(0, h // 2)
        img[y:y + h // 3, x:x + w // 3] = rng.uniform(120, 255, 3)
    norm = _img_norm(cfg)
    mean, std = np.asarray(norm.get("mean", [0, 0, 0]), np.float32), np.asarray(norm.get("std", [1, 1, 1]), np.float32)
    img = (img - mean) / std
    return torch.from_numpy(img.transpose(2, 0, 1).copy())[None].float()


def _img_norm(cfg: Any) -> dict[str, Any]:
    def find(steps: Any) -> dict[str, Any] | None:
        for step in steps or []:
            if step.get("type") == "Normalize":
                return dict(step)
            found = find(step.get("transforms"))
            if found:
                return found
        return None

    return find(cfg.get("data", {}).get("test", {}).get("pipeline")) or {}


def _compare(name: str, ref: np.ndarray, got: np.ndarray) -> float:
    if ref.shape != got.shape:
        raise click.ClickException(f"--verify: output {name} is {tuple(got.shape)} exported but {tuple(ref.shape)} "
                                   "in PyTorch")
    if ref.size == 0:
        return 0.0
    diff = np.abs(ref.astype(np.float64) - got.astype(np.float64))
    if not (diff <= ATOL + RTOL * np.abs(ref)).all():
        raise click.ClickException(f"--verify: output {name} differs from PyTorch by up to {diff.max():.3g} "
                                   f"(tolerance {ATOL} + {RTOL} x |value|)")
    return float(diff.max())


@click.command("export")
@click.argument("config", type=click.Path(dir_okay=False))
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["onnx", "torchscript"]), default="onnx", show_default=True)
@click.option("--shape", nargs=2, type=int, default=(320, 320), show_default=True, metavar="H W",
              help="Input height and width the model is traced at.")
@click.option("--dynamic", is_flag=True,
              help="ONNX segmentors: let batch size, height and width vary (not PSPNet: its adaptive pooling "
                   "is fixed in ONNX; not detectors: traced at one size).")
@click.option("--verify", is_flag=True, help="Run the exported file on a sample image and compare with PyTorch.")
@click.option("--out", "out_file", default=None, type=click.Path(dir_okay=False),
              help="Output file (default: CHECKPOINT with .onnx or .pt).")
@click.option("--opset", default=17, show_default=True, help="ONNX opset version.")
@cfg_options_option
def export(config: str, checkpoint: str, fmt: str, shape: Sequence[int], dynamic: bool, verify: bool,
           out_file: str | None, opset: int, cfg_options: Sequence[str]) -> None:
    """Export the model of CONFIG with CHECKPOINT's weights to ONNX or TorchScript.

    Detectors include box decoding and NMS (outputs bboxes, scores, labels in input pixels);
    segmentors output seg_logits. The input is one normalised image (1, 3, H, W).
    """
    for path, what in ((config, "config"), (checkpoint, "checkpoint")):
        if not os.path.isfile(path):
            raise click.ClickException(f"{path}: no such {what} file")
    h, w = (int(v) for v in shape)
    if fmt == "onnx":
        try:
            import onnx  # noqa: F401
        except ImportError as err:
            raise click.ClickException("ONNX export needs the onnx package: pip install onnx onnxruntime "
                                       "(or pip install 'segdet[export]')") from err
    if verify and fmt == "onnx":
        try:
            import onnxruntime  # noqa: F401
        except ImportError as err:
            raise click.ClickException("--verify of an ONNX file needs onnxruntime: pip install onnxruntime "
                                       "(or pip install 'segdet[export]')") from err
    import torch

    cfg = load_config(config, cfg_options)
    test_cfg = cfg.model.get("test_cfg")
    if isinstance(test_cfg, dict) and test_cfg.get("score_thr"):
        # a traced graph keeps the path the sample took: a sample with nothing above the threshold would
        # export an empty graph. Scores are left for the caller to threshold.
        click.echo(f"note: the exported detector keeps every box NMS keeps (score_thr {test_cfg['score_thr']} "
                   "-> 0); filter the outputs by score")
        cfg.model.test_cfg.score_thr = 0.0
    from segdet.apis.inference import init_detector
    from segdet.registry.local import import_custom_modules

    import_custom_modules(cfg.get("custom_imports"), source=config)
    model = init_detector(cfg, checkpoint, device="cpu")  # builds segmentors too
    module, names = _wrapper(model, (h, w))
    if dynamic and (fmt != "onnx" or names != ["seg_logits"]):
        raise click.ClickException(
            "--dynamic applies to ONNX exports of segmentors; a detector is traced at one input size "
            "(its anchors and the NMS path are fixed at tracing): export once per --shape H W")
    module.eval()
    img = _sample(cfg, (h, w))
    out_file = out_file or os.path.splitext(checkpoint)[0] + (".onnx" if fmt == "onnx" else ".pt")
    os.makedirs(os.path.dirname(os.path.abspath(out_file)), exist_ok=True)
    with torch.no_grad():
        module(img)  # fails here, with the model's own message, before any export
        if fmt == "onnx":
            axes = None
            if dynamic:
                axes = {"img": {0: "batch", 2: "height", 3: "width"}}
                if names == ["seg_logits"]:
                    axes["seg_logits"] = {0: "batch", 2: "height", 3: "width"}
            try:
                torch.onnx.export(module, (img,), out_file, input_names=["img"], output_names=names,
                                  opset_version=opset, dynamic_axes=axes, dynamo=False)
            except Exception as err:
                if "adaptive_avg_pool2d" in str(err):
                    raise click.ClickException(
                        f"ONNX cannot express adaptive average pooling to sizes that do not divide the feature "
                        f"map (PSPNet's pool scales 1, 2, 3, 6 at stride 8): use --shape with H and W multiples "
                        f"of 48 (e.g. --shape {max(48, h // 48 * 48)} {max(48, w // 48 * 48)}), without "
                        "--dynamic") from err
                raise
        else:
            traced = torch.jit.trace(module, (img,), check_trace=False)
            traced.save(out_file)
    click.echo(f"exported {out_file} ({os.path.getsize(out_file) / 1e6:.2f} MB): input img (1, 3, {h}, {w}); "
               f"outputs {', '.join(names)}")
    if not (verify or dynamic):  # a dynamic export is always tried at a second size
        return
    run = _runner(fmt, out_file)
    # the traced sample and a second, different one: a path baked in at tracing shows on the second
    other = (h + 16, w + 16) if dynamic else (h, w)  # a dynamic export must also run at another size
    for seed, sample in enumerate((img, _sample(cfg, other, seed=1))):
        with torch.no_grad():
            reference = module(sample)
        refs = [reference] if isinstance(reference, torch.Tensor) else list(reference)
        try:
            got = run(sample)
        except Exception as err:
            size = "x".join(str(v) for v in sample.shape[-2:])
            os.remove(out_file)
            message = f"the exported model fails on a {size} input ({type(err).__name__}: " \
                      f"{(str(err).splitlines() or [''])[0][:300]})"
            if dynamic:
                message += ("; this model's code fixes sizes while tracing, so it cannot be exported with "
                            "--dynamic: export without it, once per input size")
            raise click.ClickException(message) from err
        worst = max(_compare(n, r.numpy(), np.asarray(g)) for n, r, g in zip(names, refs, got))
        sizes = ", ".join(f"{n} {tuple(r.shape)}" for n, r in zip(names, refs))
        click.echo(f"verified on sample {seed}: {sizes}; max |difference| {worst:.3g} "
                   f"(tolerance {ATOL} + {RTOL} x |value|)")


def _runner(fmt: str, path: str) -> Any:
    """A function running the exported file on an image tensor, returning NumPy outputs."""
    import warnings

    import torch

    if fmt == "onnx":
        import onnxruntime

        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        return lambda img: session.run(None, {"img": img.numpy()})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.load's deprecation notice
        loaded = torch.jit.load(path)

    def run(img: Any) -> list[np.ndarray]:
        with torch.no_grad():
            outs = loaded(img)
        return [o.numpy() for o in ([outs] if isinstance(outs, torch.Tensor) else outs)]

    return run
