"""Model transforms that make a built model run faster without changing what it computes.

Three independent, opt-in steps (``segdet test --fuse-conv-bn --channels-last --compile``,
``segdet train --channels-last --compile``, and ``bench/model_speed.py``), applied in this order:

- :func:`fuse_conv_bn` folds each inference-mode BatchNorm into the convolution before it
  (MMCV's ``fuse_conv_bn``): one kernel less per conv, same outputs (float rounding aside).
- :func:`to_channels_last` stores the 4-D weights and the images the model receives as
  ``torch.channels_last`` (NHWC).
- :func:`compile_model` runs the backbone and neck through ``torch.compile``, in place, so
  state-dict keys stay those of the plain model.

    >>> model = build_model(cfg.model); model.eval()
    >>> fuse_conv_bn(model)          # number of BatchNorm layers folded
    >>> to_channels_last(model)
    >>> compile_model(model, device="cpu")
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Union

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_weights

from ..errors import SegdetError

__all__ = [
    "CompileUnavailableError",
    "check_compile_available",
    "compile_failure",
    "compile_model",
    "fuse_conv_bn",
    "to_channels_last",
]

_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_CHANNELS_LAST_HOOK = "_segdet_channels_last_hook"
DEFAULT_COMPILE_PARTS = ("backbone", "neck")


# -- BatchNorm folding ----------------------------------------------------------------------------

def _is_batch_norm(module: nn.Module) -> bool:
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        return True
    # torchvision's FrozenBatchNorm2d: fixed statistics, no training mode of its own
    return type(module).__name__ == "FrozenBatchNorm2d" and hasattr(module, "running_var")


def _uses_running_stats(bn: nn.Module) -> bool:
    """True when ``bn`` normalises with its stored statistics (eval mode, or frozen)."""
    if not isinstance(bn, nn.modules.batchnorm._BatchNorm):
        return True  # FrozenBatchNorm2d
    return (not bn.training) and bn.track_running_stats and bn.running_mean is not None


def _names_pair(parent: nn.Module, conv_name: str, norm_name: str) -> bool:
    """Whether ``norm_name`` is, by the naming conventions of MMCV-style modules, the norm
    applied to the output of ``conv_name``: ``ConvModule``'s ``conv`` + ``norm_name``,
    ResNet's ``conv1`` + ``bn1``/``norm1``, ``x_conv`` + ``x_bn``."""
    if isinstance(parent, nn.Sequential):
        return True  # a Sequential's order is its data flow
    if conv_name == "conv" and getattr(parent, "norm_name", None) == norm_name:
        return True
    return "conv" in conv_name and norm_name in (conv_name.replace("conv", "bn", 1),
                                                 conv_name.replace("conv", "norm", 1))


def _fold(conv: nn.Module, bn: Any) -> None:
    """Replace ``conv``'s weight and bias, in place, by those of ``bn(conv(x))``."""
    assert isinstance(conv, _CONVS)
    with torch.no_grad():
        weight, bias = fuse_conv_bn_weights(conv.weight, conv.bias, bn.running_mean, bn.running_var,
                                            float(bn.eps), bn.weight, bn.bias)
    conv.weight = weight
    conv.bias = bias


def _is_plain_conv(module: nn.Module) -> bool:
    """A stock convolution: subclasses that change how the weight is used (weight
    standardisation, deformable offsets) are not folded."""
    return any(isinstance(module, cls) and type(module).forward is cls.forward
               and type(module)._conv_forward is cls._conv_forward for cls in _CONVS)


def _fuse_children(module: nn.Module, skipped: list[str], prefix: str) -> int:
    count = 0
    children = list(module.named_children())
    folded: set[str] = set()
    for (name, child), (next_name, nxt) in zip(children, children[1:]):
        if name in folded or not _is_plain_conv(child) or not _is_batch_norm(nxt):
            continue
        stats: Any = nxt
        features = getattr(stats, "num_features", None) or stats.running_var.numel()
        if child.out_channels != features or not _names_pair(module, name, next_name):
            continue
        if not _uses_running_stats(nxt):
            skipped.append(prefix + next_name)
            continue
        _fold(child, nxt)
        setattr(module, next_name, nn.Identity())
        folded.update((name, next_name))
        count += 1
    for name, child in children:
        if name not in folded:
            count += _fuse_children(child, skipped, f"{prefix}{name}.")
    return count


def fuse_conv_bn(model: nn.Module) -> int:
    """Fold every BatchNorm that directly follows a convolution into that convolution, in place.

    A pair is a convolution (``nn.Conv1d/2d/3d``, not a subclass with its own forward, such as
    weight standardisation) and the BatchNorm (``BatchNorm*d``,
    ``SyncBatchNorm``, torchvision's ``FrozenBatchNorm2d``) registered right after it, with as
    many features as the conv has output channels, in one of these places:

    - an ``nn.Sequential`` (a ResNet shortcut ``downsample``, a deep stem);
    - a ``ConvModule``-style module: ``conv`` followed by its ``norm_name`` layer (``bn``);
    - ResNet-style names: ``conv1`` then ``bn1`` (or ``norm1``), ``x_conv`` then ``x_bn``.

    The conv gets the folded weight and bias (a bias is added when it had none) and the
    BatchNorm is replaced by ``nn.Identity``, so the eval-mode output is unchanged up to float
    rounding (tested within 1e-5). Only BatchNorm layers that normalise with their running
    statistics are folded: eval mode, or frozen by ``norm_eval=True``; one in training mode uses
    batch statistics, is left alone and produces a warning — call ``model.eval()`` first. This is
    an inference transform (as MMDetection's ``--fuse-conv-bn``): the folded layers no longer
    have BatchNorm keys in ``state_dict()``, so save checkpoints from the unfused model.

    Args:
        model: any ``nn.Module``; modified in place.

    Returns:
        The number of BatchNorm layers folded (0 for a model without BatchNorm after a conv).
    """
    skipped: list[str] = []
    count = _fuse_children(model, skipped, "")
    if skipped:
        warnings.warn(f"fuse_conv_bn: {len(skipped)} BatchNorm layer(s) in training mode were not folded "
                      f"(they normalise with batch statistics), e.g. {skipped[0]}; call model.eval() first",
                      stacklevel=2)
    return count


# -- channels-last -------------------------------------------------------------------------------

def _channels_last(value: Any) -> Any:
    if isinstance(value, torch.Tensor) and value.dim() == 4:
        return value.contiguous(memory_format=torch.channels_last)
    if isinstance(value, (list, tuple)):
        return type(value)(_channels_last(v) for v in value)
    return value


def _inputs_to_channels_last(module: nn.Module, args: tuple[Any, ...],
                             kwargs: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    return _channels_last(args), {k: _channels_last(v) for k, v in kwargs.items()}


def to_channels_last(model: nn.Module) -> nn.Module:
    """Store ``model``'s 4-D weights, and the images it receives, as ``torch.channels_last``.

    The parameters and buffers go through ``model.to(memory_format=torch.channels_last)``. The
    inputs are converted by a forward pre-hook on ``model.backbone`` (on ``model`` itself when
    it has no backbone): every 4-D tensor argument, also inside lists, becomes channels-last on
    its way in, so training steps, ``simple_test``, sliding-window segmentation and plain
    ``model(x)`` calls are all covered without touching the data pipeline. Values are the same
    as in the default (NCHW) layout up to float rounding. Calling it twice does nothing more.
    Moving the model with ``.to(device)`` afterwards keeps the layout.

    Where it helps: convolutions through oneDNN on CPU and cuDNN on CUDA work in NHWC natively,
    so the per-layer layout conversions disappear — mostly a gain on CUDA with AMP (tensor
    cores) and on CPUs with AVX-512; on small CPUs the gain is small and element-wise or
    upsampling-heavy parts (FPN top-down path, segmentation decoders) can be slower. Measure
    with ``bench/model_speed.py`` before relying on it.

    Args:
        model: any ``nn.Module``; modified in place.

    Returns:
        ``model``.
    """
    model.to(memory_format=torch.channels_last)
    entry = getattr(model, "backbone", None)
    entry = entry if isinstance(entry, nn.Module) else model
    if getattr(entry, _CHANNELS_LAST_HOOK, None) is None:
        handle = entry.register_forward_pre_hook(_inputs_to_channels_last, with_kwargs=True)
        object.__setattr__(entry, _CHANNELS_LAST_HOOK, handle)
    return model


# -- torch.compile -------------------------------------------------------------------------------

class CompileUnavailableError(SegdetError):
    """``torch.compile`` cannot run on this machine (no C++ compiler, no Triton, Python too new,
    a backend that failed); the message names the cause and the fix."""


_RUN_WITHOUT = "or leave --compile out (the model computes the same without it)"


def _unavailable(reason: str, fix: str) -> CompileUnavailableError:
    return CompileUnavailableError(f"--compile (torch.compile) cannot run here: {reason}. Fix: {fix}; {_RUN_WITHOUT}")


def _check_toolchain(backend: str, device: torch.device) -> None:
    import sys

    if not hasattr(torch, "compile"):
        raise _unavailable(f"torch {torch.__version__} has no torch.compile", "install torch >= 2.1")
    from torch._dynamo.eval_frame import check_if_dynamo_supported

    try:
        check_if_dynamo_supported()
    except RuntimeError as err:
        raise _unavailable(f"{err} (Python {sys.version.split()[0]}, torch {torch.__version__})",
                           "use a Python version this torch supports for torch.compile, or a newer torch") from err
    if backend != "inductor":
        return
    if device.type == "cuda":
        from torch.utils._triton import has_triton

        if not has_triton():
            raise _unavailable("the inductor backend needs Triton on CUDA and it is not installed",
                               "pip install triton (the version your torch names)")
        return
    from torch._inductor import config as inductor_config
    from torch._inductor.cpp_builder import get_cpp_compiler

    try:
        get_cpp_compiler()
    except Exception as err:  # InvalidCxxCompiler, or an error running the compiler
        tried = [c for c in inductor_config.cpp.cxx if c]
        raise _unavailable(f"the inductor backend compiles C++ for the CPU and found no working C++ compiler "
                           f"(tried {', '.join(tried) or 'none'})",
                           "install one (Debian/Ubuntu: apt-get install g++) or point $CXX at it") from err


def check_compile_available(backend: str = "inductor", device: Union[str, torch.device] = "cpu",
                            smoke_test: bool = True) -> None:
    """Raise :class:`CompileUnavailableError` when ``torch.compile`` with ``backend`` cannot run
    on ``device``; return quietly otherwise.

    Checks that this torch has ``torch.compile`` and supports this Python, that the inductor
    backend finds its toolchain (a C++ compiler for the CPU, Triton for CUDA), and with
    ``smoke_test`` compiles and runs a two-operation function (a few seconds the first time),
    which catches the rest (missing headers, a broken compiler).

    Args:
        backend: a ``torch.compile`` backend name (default ``'inductor'``).
        device: where the compiled model will run.
        smoke_test: also compile and run a tiny function.
    """
    dev = torch.device(device)
    _check_toolchain(backend, dev)
    if not smoke_test:
        return
    try:
        fn = torch.compile(lambda x: torch.relu(x) * 2.0 + 1.0, backend=backend)
        out = fn(torch.arange(-2.0, 2.0, device=dev))
        ok = torch.equal(out.cpu(), torch.tensor([1.0, 1.0, 1.0, 3.0]))
    except Exception as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise _unavailable(f"compiling a test function with backend {backend!r} on {dev} failed: "
                           f"{type(err).__name__}: {first}",
                           "check the compiler toolchain the error names") from err
    if not ok:
        raise _unavailable(f"a test function compiled with backend {backend!r} on {dev} computed a wrong result",
                           "use another backend or torch version")


def compile_failure(err: BaseException) -> CompileUnavailableError | None:
    """The clear error for an exception raised by ``torch.compile``'s machinery while a compiled
    model ran (dynamo, inductor, a backend), or None when ``err`` did not come from there."""
    for exc in (err, err.__cause__, err.__context__):
        if exc is None:
            continue
        module = type(exc).__module__ or ""
        if module.startswith(("torch._dynamo", "torch._inductor")):
            text = str(exc).strip().splitlines()
            return _unavailable(f"torch.compile failed while running the model: {type(exc).__name__}: "
                                f"{text[0] if text else ''}",
                                "see the torch.compile troubleshooting guide (TORCH_LOGS=+dynamo shows more)")
    return None


def compile_model(model: nn.Module, parts: Sequence[str] | None = DEFAULT_COMPILE_PARTS,
                  backend: str = "inductor", mode: str | None = None, dynamic: bool | None = None,
                  device: Union[str, torch.device, None] = None, check: bool = True) -> list[str]:
    """Compile the tensor-only parts of ``model`` with ``torch.compile``, in place.

    By default the ``backbone`` and the ``neck``: pure tensor code, where nearly all the FLOPs
    are. The detector's own methods (``simple_test``, box decoding, NMS, result dicts) are
    Python control flow over variable-length outputs, which would break graphs or recompile per
    image, and stay eager. Each part is compiled with ``nn.Module.compile``, which keeps the
    module object, so ``state_dict()`` keys are those of the plain model (no ``_orig_mod.``)
    and checkpoints load into an uncompiled model. Compilation itself happens on the first
    forward (seconds to minutes); a new input shape may recompile (``dynamic=None`` marks sizes
    dynamic after the first change).

    Args:
        model: the model; modified in place.
        parts: dotted names of submodules to compile; missing or ``None`` attributes are
            skipped (a segmentor without a neck). ``None``: the whole model.
        backend, mode, dynamic: passed to ``torch.compile``.
        device: where the model will run, for the availability check (default: the device of
            its first parameter).
        check: run :func:`check_compile_available` first, so a missing toolchain is a clear
            :class:`CompileUnavailableError` now rather than an exception at the first forward.

    Returns:
        The names of the compiled parts (``['']`` for the whole model).

    Raises:
        CompileUnavailableError: torch.compile cannot run here (message names cause and fix).
        SegdetError: none of ``parts`` exists in ``model``.
    """
    if device is None:
        first = next(model.parameters(), None)
        device = first.device if first is not None else torch.device("cpu")
    if check:
        check_compile_available(backend, device)
    targets: list[tuple[str, nn.Module]] = []
    if parts is None:
        targets.append(("", model))
    else:
        for name in parts:
            try:
                sub = model.get_submodule(name)
            except AttributeError:
                continue
            if isinstance(sub, nn.Module):
                targets.append((name, sub))
        if not targets:
            children = ", ".join(n for n, _ in model.named_children()) or "none"
            raise SegdetError(f"compile_model: {type(model).__name__} has none of the parts {list(parts)} "
                              f"(its children: {children}); name existing ones, or parts=None for the whole model")
    for _, module in targets:
        module.compile(backend=backend, mode=mode, dynamic=dynamic)
    return [name for name, _ in targets]
