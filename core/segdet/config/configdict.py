"""ConfigDict: a ``dict`` with attribute access that remembers where each value was set.

Every ConfigDict knows its dotted key path from the root of its config
(``'model.neck'``, ``'data.train.pipeline.2'``) and, for each of its keys, the
chain of places that set the value (``'configs/x.py:12'``,
``'--cfg-options model.neck.num_outs=4'``), base first, last one wins.
The registry reads both duck-typed through :meth:`ConfigDict.key_path` and
:meth:`ConfigDict.origin_of` to say where a wrong value came from.
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from itertools import repeat
from typing import Any

from ..errors import ConfigError

__all__ = ["ConfigDict", "ConfigKeyError", "format_path", "to_plain"]

Key = Any  # a dict key (usually str) or a list index (int)
Path = tuple[Key, ...]
Chain = tuple[Any, ...]  # origins, each a str or a Site (turned into a str when asked)


def format_path(path: Iterable[Key]) -> str:
    """``('data', 'train', 'pipeline', 2)`` -> ``'data.train.pipeline.2'``."""
    return ".".join(str(p) for p in path)


class Site:
    """Where a value was set, resolved to ``'file.py:12'`` only when shown.

    ``src`` is anything with ``describe(path) -> str`` (a loaded file that
    finds the line of ``path`` by parsing itself on first use), so loading a
    config never pays for line numbers nobody asks for.
    """

    __slots__ = ("src", "path")

    def __init__(self, src: Any, path: Path) -> None:
        self.src = src
        self.path = path

    def __str__(self) -> str:
        return str(self.src.describe(self.path))

    __repr__ = __str__


class ConfigKeyError(ConfigError, KeyError):
    """A key path that is not in the config; the message names the closest keys."""

    def __str__(self) -> str:  # KeyError would show the message in quotes
        return str(self.args[0]) if self.args else ""


class ConfigDict(dict):  # type: ignore[type-arg]
    """A dict whose keys read as attributes; nested dicts become ConfigDicts.

    Example::

        >>> cd = ConfigDict(model=dict(neck=dict(num_outs=5)))
        >>> cd.model.neck.num_outs
        5
        >>> cd.model.neck.key_path()
        'model.neck'
    """

    # Class-level defaults: an instance gets its own values only when they
    # differ, which keeps construction cheap and makes half-built instances
    # (during unpickling or copying) safe to touch.
    _cd_path: Path = ()
    _cd_root: str | None = None
    _cd_origins: dict[Key, Chain] | None = None  # chains given explicitly, by key
    _cd_src: Any = None  # who set the keys without an explicit chain: a file or an option text
    _cd_src_path: Path = ()  # this dict's path when ``_cd_src`` produced it

    def __init__(self, mapping: Mapping[Any, Any] | Iterable[Any] | None = None, /, **kwargs: Any) -> None:
        super().__init__()
        if mapping is not None:
            items = mapping.items() if isinstance(mapping, Mapping) else mapping
            for key, value in items:
                dict.__setitem__(self, key, _convert(value, (key,), fresh=True))
            if isinstance(mapping, ConfigDict):
                _copy_origins(mapping, self)
        for key, value in kwargs.items():
            dict.__setitem__(self, key, _convert(value, (key,), fresh=True))

    # ----------------------------------------------------------- attribute access
    def __getattr__(self, name: str) -> Any:
        # Dunder names are never keys: answering them at once keeps copy,
        # pickle and hasattr probes away from the difflib message below.
        if name.startswith("__"):
            raise AttributeError(name)
        if name in self:
            return dict.__getitem__(self, name)
        raise AttributeError(name if name.startswith("_") else self._missing_message(name))

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_cd_"):
            object.__setattr__(self, name, value)
        else:
            self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(self._missing_message(name)) from None

    def __missing__(self, key: Key) -> Any:
        raise ConfigKeyError(self._missing_message(key))

    def _missing_message(self, key: Key) -> str:
        dotted = format_path((*self._cd_path, key))
        msg = f"config has no key {dotted!r}"
        keys = [str(k) for k in self.keys()]
        close = difflib.get_close_matches(str(key), keys, n=3, cutoff=0.6)
        if close:
            msg += f"; did you mean {', '.join(repr(c) for c in close)}?"
        elif keys:
            where = format_path(self._cd_path) or "the top level"
            msg += f"; keys at {where}: {', '.join(keys)}"
        if self._cd_root:
            msg += f" (config {self._cd_root})"
        return msg

    # ------------------------------------------------------------- item setting
    def __setitem__(self, key: Key, value: Any) -> None:
        value = _convert(value, (*self._cd_path, key), self._cd_root)
        dict.__setitem__(self, key, value)
        # A value assigned in code no longer comes from where the old one did.
        self._set_chain(key, ())

    def __delitem__(self, key: Key) -> None:
        dict.__delitem__(self, key)
        if self._cd_origins:
            self._cd_origins.pop(key, None)

    def pop(self, key: Key, *default: Any) -> Any:
        if self._cd_origins:
            self._cd_origins.pop(key, None)
        return dict.pop(self, key, *default)

    def popitem(self) -> tuple[Any, Any]:
        key, value = dict.popitem(self)
        if self._cd_origins:
            self._cd_origins.pop(key, None)
        return key, value

    def clear(self) -> None:
        dict.clear(self)
        object.__setattr__(self, "_cd_origins", None)

    def setdefault(self, key: Key, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def update(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Recursive update: nested dicts merge, other values replace."""
        for other in (*args, kwargs):
            items = other.items() if isinstance(other, Mapping) else other
            for key, value in items:
                current = self.get(key)
                if isinstance(current, ConfigDict) and isinstance(value, Mapping):
                    current.update(value)
                else:
                    self[key] = value

    # ------------------------------------------------------------------ origins
    def key_path(self) -> str:
        """Dotted path of this dict from the config's root; ``''`` at the root."""
        return format_path(self._cd_path)

    def origin_of(self, key: Key) -> str | None:
        """Where ``self[key]`` was last set (``'file.py:12'`` or a ``--cfg-options`` item)."""
        chain = self._chain(key)
        return str(chain[-1]) if chain else None

    def origins_of(self, key: Key) -> list[str]:
        """Every place that set ``self[key]``, base first; the last one wins."""
        return [str(site) for site in self._chain(key)]

    def _chain(self, key: Key) -> Chain:
        origins = self._cd_origins
        if origins is not None and key in origins:
            return origins[key]
        src = self._cd_src
        if src is None or key not in self:
            return ()
        if isinstance(src, str):
            return (src,)
        return (Site(src, (*self._cd_src_path, key)),)

    def explain(self, key: str) -> list[str]:
        """Every place that set the value at dotted ``key`` (below this dict), base first.

        List items are addressed by index (``'pipeline.1.img_scale'``); for a
        list item that is no dict, the chain of the list itself is given.

        Raises:
            ConfigKeyError: the path does not exist (a KeyError naming the closest keys).
        """
        parts = key.split(".")
        node: Any = self
        owner: tuple[ConfigDict, Any] | None = None  # the nearest dict holding the value
        for i, part in enumerate(parts):
            path = (*self._cd_path, *parts[:i])
            if isinstance(node, ConfigDict):
                if part not in node:
                    close = difflib.get_close_matches(part, [str(k) for k in node], n=3, cutoff=0.6)
                    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
                    raise ConfigKeyError(f"config has no key {format_path((*path, part))!r}{hint}")
                owner = (node, part)
                node = dict.__getitem__(node, part)
            elif isinstance(node, (list, tuple)):
                try:
                    node = node[int(part)]
                except (ValueError, IndexError):
                    raise ConfigKeyError(
                        f"{format_path(path)!r} is a list of {len(node)} items; {part!r} is no index of it"
                    ) from None
            else:
                raise ConfigKeyError(f"{format_path(path)!r} is {type(node).__name__}, not a dict or list")
        return owner[0].origins_of(owner[1]) if owner is not None else []

    def root_filename(self) -> str | None:
        """The config file this dict belongs to, as shown in messages."""
        return self._cd_root

    def _set_chain(self, key: Key, chain: Chain) -> None:
        """Record ``chain`` as the origins of ``key``; ``()`` means set in code."""
        if self._cd_origins is None:
            object.__setattr__(self, "_cd_origins", {})
        assert self._cd_origins is not None
        self._cd_origins[key] = chain

    # ------------------------------------------------------------------ copying
    def copy(self) -> ConfigDict:
        """A shallow copy that keeps the key path and origins."""
        new = ConfigDict.__new__(ConfigDict)
        dict.update(new, self)
        _copy_meta(self, new)
        return new

    __copy__ = copy

    def __deepcopy__(self, memo: dict[int, Any]) -> ConfigDict:
        import copy as _copy

        new = ConfigDict.__new__(ConfigDict)
        memo[id(self)] = new
        for key, value in self.items():
            dict.__setitem__(new, _copy.deepcopy(key, memo), _copy.deepcopy(value, memo))
        _copy_meta(self, new)
        return new

    def __reduce__(self) -> tuple[Any, ...]:
        # Origins travel as plain text: the file objects behind them stay home.
        origins = {key: tuple(str(site) for site in self._chain(key)) for key in self}
        return (_restore, (dict(self), self._cd_path, self._cd_root, origins))

    def to_dict(self) -> dict[Any, Any]:
        """Plain dicts, lists and tuples all the way down."""
        result: dict[Any, Any] = to_plain(self)
        return result

    def __repr__(self) -> str:
        return f"ConfigDict({dict.__repr__(self)})"

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *(k for k in self if isinstance(k, str))})


def _copy_meta(src: ConfigDict, dst: ConfigDict) -> None:
    if src._cd_path:
        object.__setattr__(dst, "_cd_path", src._cd_path)
    if src._cd_root is not None:
        object.__setattr__(dst, "_cd_root", src._cd_root)
    _copy_origins(src, dst)


def _copy_origins(src: ConfigDict, dst: ConfigDict) -> None:
    if src._cd_origins:
        object.__setattr__(dst, "_cd_origins", dict(src._cd_origins))
    if src._cd_src is not None:
        object.__setattr__(dst, "_cd_src", src._cd_src)
        object.__setattr__(dst, "_cd_src_path", src._cd_src_path)


def _restore(items: dict[Any, Any], path: Path, root: str | None,
             origins: dict[Key, Chain] | None) -> ConfigDict:
    new = ConfigDict.__new__(ConfigDict)
    dict.update(new, items)
    if path:
        object.__setattr__(new, "_cd_path", path)
    if root is not None:
        object.__setattr__(new, "_cd_root", root)
    if origins:
        object.__setattr__(new, "_cd_origins", dict(origins))
    return new


_CONTAINERS = (dict, list, tuple)


def has_container(seq: Iterable[Any]) -> bool:
    """Whether a list or tuple holds a dict, list or tuple (checked at C speed)."""
    return any(map(isinstance, seq, repeat(_CONTAINERS)))


def _rebuild(like: tuple[Any, ...], items: list[Any]) -> tuple[Any, ...]:
    return type(like)(*items) if hasattr(like, "_fields") else type(like)(items)


def _convert(value: Any, path: Path, root: str | None = None, fresh: bool = False, src: Any = None) -> Any:
    """Make nested dicts ConfigDicts and stamp them with their key path.

    A ConfigDict inside ``value`` is kept (and re-stamped) unless ``fresh``,
    which copies it, origins included, leaving the original where it was.
    ``src`` (a loaded file or an option text) becomes the origin of every
    key of the new ConfigDicts.
    """
    if isinstance(value, ConfigDict) and not fresh:
        stamp(value, path, root)
        return value
    if isinstance(value, dict):
        new = ConfigDict.__new__(ConfigDict)
        dict.update(new, value)
        for key, item in value.items():
            if isinstance(item, _CONTAINERS):
                dict.__setitem__(new, key, _convert(item, (*path, key), root, fresh, src))
        if isinstance(value, ConfigDict):
            _copy_origins(value, new)
        elif src is not None:
            object.__setattr__(new, "_cd_src", src)
            if path:
                object.__setattr__(new, "_cd_src_path", path)
        if path:
            object.__setattr__(new, "_cd_path", path)
        if root is not None:
            object.__setattr__(new, "_cd_root", root)
        return new
    if isinstance(value, list):
        if not has_container(value):
            return list(value)
        return [_convert(item, (*path, i), root, fresh, src) if isinstance(item, _CONTAINERS) else item
                for i, item in enumerate(value)]
    if isinstance(value, tuple) and has_container(value):
        return _rebuild(value, [_convert(item, (*path, i), root, fresh, src) if isinstance(item, _CONTAINERS)
                                else item for i, item in enumerate(value)])
    return value


def stamp(value: Any, path: Path = (), root: str | None = None) -> None:
    """Record key paths (and the root file) on every ConfigDict under ``value``."""
    if isinstance(value, ConfigDict):
        if value._cd_path != path:
            object.__setattr__(value, "_cd_path", path)
        if root is not None and value._cd_root != root:
            object.__setattr__(value, "_cd_root", root)
        for key, item in value.items():
            if isinstance(item, _CONTAINERS):
                stamp(item, (*path, key), root)
    elif isinstance(value, (list, tuple)) and has_container(value):
        for i, item in enumerate(value):
            if isinstance(item, _CONTAINERS):
                stamp(item, (*path, i), root)


def to_plain(value: Any) -> Any:
    """ConfigDicts (and a whole Config) to dicts, recursively, also inside lists and tuples."""
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict) and not isinstance(value, dict):
        return to_dict()
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    if isinstance(value, tuple):
        items = [to_plain(v) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
    return value


def copy_tree(value: Any) -> Any:
    """A fast deep copy of config data: containers copied, leaves shared.

    Leaves of a config are immutable in practice (numbers, strings, None,
    classes); copying only the containers is much cheaper than ``deepcopy``.
    """
    if isinstance(value, dict):
        if isinstance(value, ConfigDict):
            new: dict[Any, Any] = ConfigDict.__new__(ConfigDict)
            dict.update(new, value)
            _copy_meta(value, new)  # type: ignore[arg-type]
        else:
            new = dict(value)
        for key, item in value.items():
            if isinstance(item, _CONTAINERS):
                dict.__setitem__(new, key, copy_tree(item))
        return new
    if isinstance(value, list):
        if not has_container(value):
            return list(value)
        return [copy_tree(v) if isinstance(v, _CONTAINERS) else v for v in value]
    if isinstance(value, tuple) and has_container(value):
        return _rebuild(value, [copy_tree(v) if isinstance(v, _CONTAINERS) else v for v in value])
    return value
