"""What a component of each group must do, checked on a tiny built instance.

``check_component(name, group, **tiny_kwargs)`` builds the component through the registry
(so the constructor's signature is checked as a config would be), then runs the checks of
its group on tiny CPU inputs and raises :class:`ContractViolation` listing every broken
promise:

- every component: imports, names every constructor argument (no ``**kwargs``), has a docstring;
- ``backbones`` / ``necks``: ``forward`` returns a tuple of maps whose count and channels match
  ``out_channels`` and ``strides``, each map being ``input size / stride`` (rounded either way),
  and gradients reach the parameters (and a neck's inputs);
- ``heads``: ``forward`` gives finite tensors that back-propagate into the parameters; a
  decode head (:class:`segdet.api.BaseDecodeHead`) gives ``(N, num_classes, h, w)`` logits;
- ``losses``: differentiable; ``loss_weight`` scales the value; ``reduction='none'|'mean'|'sum'``
  agree with each other (``sum == none.sum()``, ``mean == none.mean()``); an unknown reduction
  is refused;
- ``hooks``: every ``before_*`` / ``after_*`` method is a hookspec name
  (:mod:`segdet.engine.hookspec`), at least one is implemented, and the runner's plugin manager
  accepts the implementations' arguments;
- ``transforms``: map a results dict (as after ``LoadImageFromFile`` + ``LoadAnnotations``)
  to a results dict;
- ``metrics``: ``evaluate(results, dataset)`` exists; given ``inputs=(results, dataset)`` it
  returns ``{str: number}`` (``*_copypaste`` strings allowed);
- ``datasets``: ``len``, indexing to a dict, ``CLASSES`` (a tuple of names), ``evaluate``.

Example (a neck's own test)::

    from segdet.testing import check_component

    def test_my_neck_contract():
        neck = check_component("MyNeck", "necks", in_channels=[8, 16, 32], out_channels=8)
        assert neck.strides == [8, 16, 32]
"""
from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from ...registry import ComponentInfo, build, find_info, full_group, short_group
from ...registry.build import _load
from .losses import check_loss
from .models import check_backbone, check_head, check_neck, default_in_strides
from .runtime import check_dataset, check_hook, check_metric, check_transform, default_results

__all__ = [
    "ContractCase",
    "ContractViolation",
    "assert_component_contract",
    "check_component",
    "component_contract_problems",
    "component_problems",
    "default_results",
    "static_problems",
]

# torch.optim classes are registered as they are; their signatures are torch's business.
_FOREIGN_OK = ("torch.",)


class ContractViolation(AssertionError):
    """A component breaks the contract of its group; the message lists every problem."""


@attrs.frozen
class ContractCase:
    """One ``check_component`` call, as carried by ``@pytest.mark.segdet_component(...)``.

    Args:
        name: registered name (``'MyNeck'``, or qualified ``'segdet-neck-mine:MyNeck'``).
        group: entry-point group (``'necks'`` or ``'segdet.necks'``).
        kwargs: tiny constructor arguments.
        inputs: what the group's check feeds the instance (see :func:`check_component`);
            a zero-argument callable is called first, so tensors are made fresh per test.
    """

    name: str
    group: str
    kwargs: Mapping[str, Any] = attrs.field(factory=dict)
    inputs: Any = None

    @property
    def id(self) -> str:
        """``necks/MyNeck(in_channels=[8, 16])``: the test id pytest shows."""
        args = ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items())
        if len(args) > 60:
            args = args[:57] + "..."
        return f"{short_group(full_group(self.group))}/{self.name}({args})"

    def check(self) -> Any:
        return check_component(self.name, self.group, inputs=self.inputs, **dict(self.kwargs))


def static_problems(info: ComponentInfo) -> list[str]:
    """What ``info``'s component breaks without being built (empty when it is fine).

    It imports; its constructor takes explicit keyword arguments (no ``**kwargs`` swallowing
    unknown keys); it has a docstring.
    """
    try:
        obj: Any = _load(info)
    except Exception as err:  # reported, not raised: the listing goes on
        return [f"{info.display_name}: does not import: {err}"]
    if info.target.startswith(_FOREIGN_OK):
        return []
    return _signature_problems(obj, info.display_name)


#: the name ``segdet.testing`` exported first for :func:`static_problems`
component_contract_problems = static_problems


def assert_component_contract(info: ComponentInfo) -> None:
    """Raise :class:`ContractViolation` when :func:`static_problems` finds any."""
    problems = static_problems(info)
    if problems:
        raise ContractViolation("\n".join(problems))


def _signature_problems(obj: Any, who: str) -> list[str]:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return [f"{who}: has no inspectable signature"]
    problems = [f"{who}: swallows unknown keys with **{name}; name every argument"
                for name, p in sig.parameters.items() if p.kind is inspect.Parameter.VAR_KEYWORD]
    if not (inspect.getdoc(obj) or "").strip():
        problems.append(f"{who}: has no docstring")
    return problems


def check_component(name: str | ComponentInfo, group: str, *, inputs: Any = None, **kwargs: Any) -> Any:
    """Build ``name`` of ``group`` with ``kwargs`` and check its group's contract.

    Args:
        name: registered name, or a :class:`~segdet.api.ComponentInfo`.
        group: ``'necks'`` or ``'segdet.necks'``.
        inputs: optional input of the group's check (a zero-argument callable is called first):
            backbones: an image batch ``(N, 3, H, W)`` (default ``(2, 3, 64, 64)``);
            necks: the list of input maps (default: one ``(2, C_i, 64/s_i, 64/s_i)`` map per
            ``in_channels`` with ``s_i = in_strides`` if given, else ``..., 8, 16, 32``);
            heads: what ``forward`` takes, or a dict of its arguments (default only for decode heads);
            losses: ``(pred, target)`` or a dict of ``forward`` arguments (default ``pred`` and
            ``target`` of shape ``(8, 4)``: an element-wise loss);
            transforms: a results dict (default :func:`default_results`);
            metrics: ``(results, dataset)`` (default: the interface is checked, not called);
            hooks, datasets: unused.
        **kwargs: tiny constructor arguments (channels <= 16).

    Returns:
        The built instance (after the checks, in training mode, gradients zeroed).

    Raises:
        ContractViolation: every problem found, each naming the component.
    """
    group = full_group(group)
    info = name if isinstance(name, ComponentInfo) else find_info(name, group)
    who = info.display_name
    problems = [] if info.target.startswith(_FOREIGN_OK) else _signature_problems(_load(info), who)
    kwargs = _parent_fills(_load(info), short_group(group), kwargs)
    try:
        instance = build({"type": _load(info), **kwargs}, group)
    except Exception as err:
        raise ContractViolation("\n".join([*problems, f"{who}: does not build from {kwargs!r}: "
                                           f"{type(err).__name__}: {err}"])) from err
    if callable(inputs):
        inputs = inputs()
    check = _GROUP_CHECKS.get(short_group(group))
    if check is not None:
        try:
            problems += [f"{who}: {p}" for p in check(instance, inputs, dict(kwargs))]
        except ContractViolation:
            raise
        except Exception as err:
            raise ContractViolation("\n".join([*problems, f"{who}: the {short_group(group)} check raised "
                                               f"{type(err).__name__}: {err}"])) from err
    if problems:
        raise ContractViolation("\n".join(problems))
    return instance


def _parent_fills(obj: Any, group: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """What a parent would hand a neck that takes ``in_strides``: the strides of the maps it is fed."""
    try:
        params = inspect.signature(obj).parameters
    except (TypeError, ValueError):
        return kwargs
    channels = kwargs.get("in_channels")
    if group == "necks" and "in_strides" in params and "in_strides" not in kwargs \
            and isinstance(channels, (list, tuple)):
        return {**kwargs, "in_strides": default_in_strides(len(channels))}
    return kwargs


def component_problems(name: str | ComponentInfo, group: str, *, inputs: Any = None, **kwargs: Any) -> list[str]:
    """Like :func:`check_component`, but returns the problems (empty when it is fine)."""
    try:
        check_component(name, group, inputs=inputs, **kwargs)
    except ContractViolation as err:
        return str(err).splitlines()
    return []


_Check = Callable[[Any, Any, dict[str, Any]], list[str]]
_GROUP_CHECKS: dict[str, _Check] = {
    "backbones": check_backbone,
    "necks": check_neck,
    "heads": check_head,
    "losses": check_loss,
    "hooks": check_hook,
    "transforms": check_transform,
    "metrics": check_metric,
    "datasets": check_dataset,
}
