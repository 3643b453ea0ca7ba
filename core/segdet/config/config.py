"""``Config``: a loaded config file with its text, its file name and where each value came from."""
from __future__ import annotations

import copy as _copy
import os
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Union

from ..errors import ConfigError
from .configdict import ConfigDict, _convert, stamp, to_plain
from .dump import dump_file, dump_text
from .loader import check_extension, display_path, load_file, load_text
from .merge import finalize
from .options import apply_options, parse_cfg_options

__all__ = ["Config"]

PathLike = Union[str, "os.PathLike[str]"]
Options = Union[Mapping[str, Any], Iterable[str], None]
_RESERVED = ("filename", "text", "pretty_text")


class Config:
    """A config: MMCV's ``Config`` with origin tracking.

    Example::

        >>> cfg = Config.fromfile('configs/retinanet/retinanet_r50_fpn.py',
        ...                       cfg_options=['model.neck.num_outs=4'])
        >>> cfg.model.neck.num_outs
        4
        >>> cfg.explain('model.neck.num_outs')[-1]
        '--cfg-options model.neck.num_outs=4'

    Args:
        cfg_dict: the values; dicts inside become :class:`ConfigDict`.
        filename: the file the values came from, if any.
        text: the source text; read from ``filename`` when left out.
    """

    def __init__(self, cfg_dict: Mapping[str, Any] | None = None,
                 filename: PathLike | None = None, text: str | None = None) -> None:
        if cfg_dict is None:
            cfg_dict = {}
        elif not isinstance(cfg_dict, Mapping):
            raise TypeError(f"cfg_dict must be a dict, got {type(cfg_dict).__name__}")
        for key in _RESERVED:
            if key in cfg_dict:
                raise ConfigError(f"{key!r} is a reserved name of Config and cannot be a config key")
        name = os.fspath(filename) if filename is not None else None
        # Copied, so a ConfigDict taken from another config keeps its place there.
        tree = _convert(cfg_dict if isinstance(cfg_dict, dict) else dict(cfg_dict), (), fresh=True)
        stamp(tree, (), display_path(os.path.abspath(name)) if name else None)
        if text is None:
            text = ""
            if name and os.path.isfile(name):
                with open(name, encoding="utf-8") as f:
                    text = f.read()
        object.__setattr__(self, "_cfg_dict", tree)
        object.__setattr__(self, "_filename", name)
        object.__setattr__(self, "_text", text)

    # ------------------------------------------------------------ constructors
    @staticmethod
    def fromfile(filename: PathLike, cfg_options: Options = None) -> Config:
        """Load a ``.py``, ``.json`` or ``.yaml`` config with its bases, then apply options.

        Args:
            filename: the config file.
            cfg_options: ``--cfg-options`` items (``['a.b=1']``) or a dict of
                dotted keys to values, applied after loading.
        """
        name = os.fspath(filename)
        tree, text = load_file(name)
        cfg = Config._adopt(tree, name, text)
        if cfg_options:
            cfg.merge_from_dict(_as_options(cfg_options))
        return cfg

    @staticmethod
    def fromstring(cfg_str: str, file_format: str) -> Config:
        """A config from text in the format ``file_format`` (``'.py'``, ``'.json'``, ``'.yaml'``).

        ``_base_`` paths in the text are relative to the working directory.
        """
        tree, _ = load_text(cfg_str, file_format)
        return Config._adopt(tree, None, cfg_str)

    @staticmethod
    def _adopt(tree: ConfigDict, filename: str | None, text: str) -> Config:
        """A Config over a private copy of ``tree`` (which may be shared with the file cache)."""
        cfg = Config.__new__(Config)
        root = display_path(os.path.abspath(filename)) if filename else None
        object.__setattr__(cfg, "_cfg_dict", finalize(tree, (), root))
        object.__setattr__(cfg, "_filename", filename)
        object.__setattr__(cfg, "_text", text)
        return cfg

    # -------------------------------------------------------------- properties
    @property
    def filename(self) -> str | None:
        return self._filename  # type: ignore[no-any-return]

    @property
    def text(self) -> str:
        return self._text  # type: ignore[no-any-return]

    @property
    def pretty_text(self) -> str:
        """The config as readable, loadable Python (``dict(...)`` style)."""
        return dump_text(self._cfg_dict, ".py")

    # ---------------------------------------------------------- mapping access
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "_cfg_dict":
            raise AttributeError(name)
        return getattr(self._cfg_dict, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _RESERVED:
            raise AttributeError(f"{name!r} is a read-only property of Config")
        self._cfg_dict[name] = value

    def __delattr__(self, name: str) -> None:
        delattr(self._cfg_dict, name)

    def __getitem__(self, key: str) -> Any:
        return self._cfg_dict[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._cfg_dict[key] = value

    def __delitem__(self, key: str) -> None:
        del self._cfg_dict[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._cfg_dict)

    def __len__(self) -> int:
        return len(self._cfg_dict)

    def __contains__(self, key: object) -> bool:
        return key in self._cfg_dict

    def keys(self) -> Any:
        return self._cfg_dict.keys()

    def values(self) -> Any:
        return self._cfg_dict.values()

    def items(self) -> Any:
        return self._cfg_dict.items()

    def get(self, key: str, default: Any = None) -> Any:
        return self._cfg_dict.get(key, default)

    def pop(self, key: str, *default: Any) -> Any:
        return self._cfg_dict.pop(key, *default)

    def setdefault(self, key: str, default: Any = None) -> Any:
        return self._cfg_dict.setdefault(key, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._cfg_dict.update(*args, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        """Plain dicts, lists and tuples all the way down."""
        result: dict[str, Any] = to_plain(self._cfg_dict)
        return result

    # ---------------------------------------------------------------- changing
    def merge_from_dict(self, options: Options, allow_list_keys: bool = True) -> None:
        """Apply dotted-key options, e.g. ``{'model.backbone.depth': 101, 'data.test.pipeline.1.flip': True}``.

        ``options`` may also be ``--cfg-options`` items (``['a.b=1']``).
        Each changed value records the option as its origin.

        Raises:
            CfgOptionsError: a list index out of range or a path through a
                value that is neither dict nor list, naming the path.
        """
        opts = _as_options(options)
        if not allow_list_keys:
            _forbid_list_keys(self._cfg_dict, opts)
        apply_options(self._cfg_dict, opts)
        stamp(self._cfg_dict, (), self._cfg_dict.root_filename())

    # --------------------------------------------------------------- origins
    def explain(self, key: str) -> list[str]:
        """Every place that set the value at dotted ``key``, base first; the last one wins.

        Example: ``['configs/_base_/models/retinanet_r50_fpn.py:20',
        'configs/retinanet/my.py:5', '--cfg-options model.neck.num_outs=4']``.
        """
        return self._cfg_dict.explain(key)

    # ------------------------------------------------------------------ output
    def dump(self, file: PathLike | None = None) -> str | None:
        """Write to ``file`` (format by suffix), or return the text in this config's own format."""
        if file is None:
            suffix = os.path.splitext(self._filename or "x.py")[1] or ".py"
            return dump_text(self._cfg_dict, suffix)
        check_extension(os.fspath(file))
        dump_file(self._cfg_dict, file)
        return None

    # ----------------------------------------------------------------- copying
    def copy(self) -> Config:
        """A copy whose dicts and lists are new (leaf values are shared)."""
        return Config._adopt(self._cfg_dict, self._filename, self._text)

    __copy__ = copy

    def __deepcopy__(self, memo: dict[int, Any]) -> Config:
        return Config._adopt(_copy.deepcopy(self._cfg_dict, memo), self._filename, self._text)

    def __getstate__(self) -> tuple[Any, ...]:
        return (self._cfg_dict, self._filename, self._text)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        for name, value in zip(("_cfg_dict", "_filename", "_text"), state):
            object.__setattr__(self, name, value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Config):
            return bool(self._cfg_dict == other._cfg_dict)
        if isinstance(other, Mapping):
            return bool(self._cfg_dict == other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Config (path: {self._filename}): {to_plain(self._cfg_dict)!r}"


def _as_options(options: Options) -> Mapping[str, Any]:
    if options is None:
        return {}
    if isinstance(options, Mapping):
        return options
    if isinstance(options, str):
        return parse_cfg_options([options])
    return parse_cfg_options(list(options))


def _forbid_list_keys(root: ConfigDict, options: Mapping[str, Any]) -> None:
    from ..errors import CfgOptionsError

    for key in options:
        node: Any = root
        for part in str(key).split(".")[:-1]:
            if isinstance(node, (list, tuple)):
                raise CfgOptionsError(f"--cfg-options {key}: list indices are not allowed here")
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, (list, tuple)):
            raise CfgOptionsError(f"--cfg-options {key}: list indices are not allowed here")


# Code that accepts "a Config or any mapping" can test for ``Mapping`` alone.
Mapping.register(Config)
