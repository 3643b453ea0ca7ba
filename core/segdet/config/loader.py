"""Reading config files: ``_base_`` inheritance, ``{{_base_.x}}`` references, execution.

A Python config runs in its own namespace, compiled from memory (no temp
files). Every file's resolved tree is cached per process, keyed by its path
and its (mtime, size) and those of the bases it includes, so base files
shared by many configs are read once; merging never changes a cached tree
(see :func:`merge.merge_into`). Line numbers of values are not computed
while loading: each value remembers its file and key path, and the file is
parsed for lines only when an origin is shown (:class:`origin.SourceFile`).
"""
from __future__ import annotations

import ast
import io
import json
import os
import re
import tokenize
import types
from collections.abc import Iterable
from typing import Any, NamedTuple

from ..errors import BaseCycleError, BaseFileNotFoundError, ConfigError, ConfigSyntaxError
from .configdict import ConfigDict, _convert, format_path, to_plain
from .merge import merge_bases, merge_into
from .origin import SourceFile

__all__ = [
    "BASE_KEY",
    "EXTENSIONS",
    "ConfigFileNotFoundError",
    "clear_cache",
    "display_path",
    "iter_config_files",
    "load_file",
    "load_text",
]

BASE_KEY = "_base_"
EXTENSIONS = (".py", ".json", ".yaml", ".yml")
_REF = re.compile(r"\{\{\s*_base_\.([\w.]+?)\s*\}\}")
_PREDEFINED = re.compile(r"\{\{\s*(fileDirname|fileBasename|fileBasenameNoExtension|fileExtname)\s*\}\}")
_REF_FN = "_segdet_base_ref_"


class ConfigFileNotFoundError(ConfigError, FileNotFoundError):
    """The config file given to ``Config.fromfile`` does not exist."""


class _Loaded(NamedTuple):
    tree: ConfigDict  # resolved, with origins; shared, never changed
    text: str  # every file's text, bases first
    deps: tuple[tuple[str, tuple[int, int]], ...]  # (path, stamp) of the file and its bases


_CACHE: dict[tuple[str, str], _Loaded] = {}


def clear_cache() -> None:
    """Forget every file read so far (the next load reads them again)."""
    _CACHE.clear()


def display_path(path: str) -> str:
    """``path`` relative to the working directory when below it, else absolute."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path
    return path if rel.startswith("..") else rel


def _stamp(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def check_extension(path: str) -> str:
    ext = os.path.splitext(path)[1].lower()
    if ext not in EXTENSIONS:
        raise ConfigError(
            f"unsupported config file extension {ext or '(none)'!r} of {path}; "
            f"expected one of {', '.join(EXTENSIONS)}"
        )
    return ext


def load_file(path: str, stack: tuple[str, ...] = ()) -> tuple[ConfigDict, str]:
    """The resolved config of the file at ``path`` and its text.

    The tree is shared with the cache and with every config including the
    file: never change it; :func:`merge.finalize` makes a private copy.
    """
    path = os.path.abspath(path)
    check_extension(path)
    key = (path, os.getcwd())
    cached = _CACHE.get(key)
    if cached is not None and all(_stamp(p) == s for p, s in cached.deps):
        return cached.tree, cached.text
    if _stamp(path) is None:
        raise ConfigFileNotFoundError(f"config file not found: {path}")
    loaded = _load_uncached(path, stack)
    _CACHE[key] = loaded
    return loaded.tree, loaded.text


def _load_uncached(path: str, stack: tuple[str, ...]) -> _Loaded:
    stamp = _stamp(path)
    assert stamp is not None
    with open(path, encoding="utf-8") as f:
        text = f.read()
    tree, full_text, deps = _resolve(text, path, display_path(path), stack)
    return _Loaded(tree, full_text, ((path, stamp), *deps))


def load_text(text: str, ext: str, label: str = "<string>") -> tuple[ConfigDict, str]:
    """The resolved config of ``text`` given as a file of type ``ext``; bases relative to the cwd."""
    ext = ext if ext.startswith(".") else "." + ext
    fake = os.path.join(os.getcwd(), label + ext if not label.endswith(ext) else label)
    check_extension(fake)
    tree, full_text, _ = _resolve(text, fake, label, ())
    return tree, full_text


def _resolve(text: str, path: str, label: str, stack: tuple[str, ...]) -> tuple[ConfigDict, str, list[Any]]:
    """Load one file's own values, then merge them onto its resolved bases."""
    if path in stack:
        chain = " -> ".join(display_path(p) for p in (*stack[stack.index(path):], path))
        raise BaseCycleError(f"_base_ files include each other in a cycle: {chain}")
    ext = os.path.splitext(path)[1].lower()
    if "{{" in text:
        text = _predefined(text, path)
    inner = (*stack, path)
    if ext != ".py":
        raw = _parse_data(text, ext, label)
        bases, base_text, deps = _load_bases(raw.pop(BASE_KEY, None), text, path, label, inner)
        src = SourceFile(label, text, "json" if ext == ".json" else "yaml")
        own = _convert(_substitute_data(raw, bases, label), (), src=src)
    elif _REF.search(text) is None:
        # The common case: run the file, then read its _base_ from what it set.
        namespace = _run(_compile(text, path, label), path, label, text, bases=None)
        bases, base_text, deps = _load_bases(namespace.get(BASE_KEY), text, path, label, inner)
        own = _collect(namespace, SourceFile(label, text, "py"))
    else:
        # {{_base_.a.0}} is no valid Python: read _base_ from a stand-in text,
        # load the bases, then substitute the references and run the result.
        names = _python_bases(_parse(_REF.sub("0", text), path, label), label)
        bases, base_text, deps = _load_bases(names, text, path, label, inner)
        real = _substitute_source(text, bases, label)
        namespace = _run(_compile(real, path, label), path, label, text, bases)
        own = _collect(namespace, SourceFile(label, real, "py"))
    merged = merge_into(bases, own)
    full_text = (base_text + "\n" if base_text else "") + f"# {label}\n" + text
    return merged, full_text, deps


def _predefined(text: str, path: str) -> str:
    base = os.path.basename(path)
    values = {
        "fileDirname": os.path.dirname(path).replace("\\", "/"),
        "fileBasename": base,
        "fileBasenameNoExtension": os.path.splitext(base)[0],
        "fileExtname": os.path.splitext(base)[1],
    }
    return _PREDEFINED.sub(lambda m: values[m.group(1)], text)


def _compile(text: str, path: str, label: str) -> types.CodeType:
    try:
        return compile(text, path, "exec", dont_inherit=True)
    except SyntaxError as err:
        raise _syntax_error(err, label) from None


def _parse(text: str, path: str, label: str) -> ast.Module:
    try:
        return ast.parse(text, filename=path)
    except SyntaxError as err:
        raise _syntax_error(err, label) from None


def _syntax_error(err: SyntaxError, label: str) -> ConfigSyntaxError:
    line = (err.text or "").rstrip("\n")
    pointer = ""
    if line and err.offset:
        pointer = "\n    " + " " * (err.offset - 1 - (len(line) - len(line.lstrip()))) + "^"
    return ConfigSyntaxError(
        f"{label}:{err.lineno}: invalid Python in config: {err.msg}"
        + (f"\n    {line.strip()}{pointer}" if line else "")
    )


def _parse_data(text: str, ext: str, label: str) -> dict[str, Any]:
    try:
        if ext == ".json":
            data = json.loads(text) if text.strip() else {}
        else:
            import yaml

            data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
    except json.JSONDecodeError as err:
        raise ConfigSyntaxError(f"{label}:{err.lineno}: invalid JSON: {err.msg}") from None
    except Exception as err:  # yaml.YAMLError; yaml is imported lazily
        mark = getattr(err, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigSyntaxError(f"{label}{line}: invalid YAML: {err}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{label}: a config file must hold a mapping at the top, got {type(data).__name__}")
    return data


def _python_bases(module: ast.Module, label: str) -> Any:
    """The literal value of the top-level ``_base_ = ...``, or None."""
    names: Any = None
    for stmt in module.body:
        if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name) and stmt.targets[0].id == BASE_KEY):
            try:
                names = ast.literal_eval(stmt.value)
            except ValueError:
                raise ConfigError(
                    f"{label}:{stmt.lineno}: _base_ must be a file path or a list of file paths "
                    f"written as string literals"
                ) from None
    return names


def _base_where(text: str, label: str) -> str:
    """``'label:line'`` of the ``_base_`` assignment, found only when a message needs it."""
    if label.endswith((".json", ".yaml", ".yml")):
        match = re.search(r"^\s*\"?_base_\"?\s*:", text, re.MULTILINE)
        return f"{label}:{text.count(chr(10), 0, match.start()) + 1}" if match else label
    try:
        module = ast.parse(_REF.sub("0", text))
    except SyntaxError:
        return label
    lines = [stmt.lineno for stmt in module.body if isinstance(stmt, ast.Assign)
             and any(isinstance(t, ast.Name) and t.id == BASE_KEY for t in stmt.targets)]
    return f"{label}:{lines[-1]}" if lines else label


def _load_bases(names: Any, text: str, path: str, label: str,
                stack: tuple[str, ...]) -> tuple[ConfigDict, str, list[Any]]:
    """The merged config of the files ``names`` lists (relative to ``path``), their text, their stamps."""
    if names is None:
        return ConfigDict(), "", []
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise ConfigError(
            f"{_base_where(text, label)}: _base_ must be a file path or a list of file paths, got {names!r}"
        )
    here = os.path.dirname(path)
    bases: list[tuple[str, ConfigDict]] = []
    texts: list[str] = []
    deps: list[Any] = []
    for name in names:
        target = os.path.normpath(os.path.join(here, os.path.expanduser(name)))
        if not os.path.isfile(target):
            raise BaseFileNotFoundError(
                f"{_base_where(text, label)}: base file {name!r} not found; tried {target} "
                f"(_base_ paths are relative to the including file {label})"
            )
        try:
            check_extension(target)
        except ConfigError as err:
            raise ConfigError(f"{_base_where(text, label)}: {err}") from None
        if target in stack:
            chain = " -> ".join(display_path(p) for p in (*stack[stack.index(target):], target))
            raise BaseCycleError(f"_base_ files include each other in a cycle: {chain}")
        tree, base_text = load_file(target, stack)
        bases.append((display_path(target), tree))
        texts.append(base_text)
        deps.extend(_CACHE[(target, os.getcwd())].deps)
    return merge_bases(bases, label), "\n".join(texts), deps


# ------------------------------------------------------------ base references
def _lookup(base: ConfigDict, dotted: str, where: str) -> Any:
    node: Any = base
    done: list[str] = []
    for part in dotted.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, (list, tuple)) and part.lstrip("-").isdigit() and -len(node) <= int(part) < len(node):
            node = node[int(part)]
        else:
            import difflib

            options = [str(k) for k in node] if isinstance(node, dict) else []
            close = difflib.get_close_matches(part, options, n=3, cutoff=0.6)
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            at = format_path(["_base_", *done])
            raise ConfigError(f"{where}: {{{{_base_.{dotted}}}}}: {at} has no {part!r}{hint}")
        done.append(part)
    return node


def _escape(text: str, token: str) -> str:
    prefix = token[: len(token) - len(token.lstrip("rRbBuUfF"))]
    if "r" in prefix.lower():
        return text
    quote = token[len(prefix)]
    return text.replace("\\", "\\\\").replace(quote, "\\" + quote).replace("\n", "\\n")


def _substitute_source(text: str, base: ConfigDict, label: str) -> str:
    """Replace ``{{_base_.x}}`` in Python source: a typed value in code, text in strings."""
    lines = text.splitlines(keepends=True)
    # (line, col) spans of string tokens, where a reference becomes text.
    strings: list[tuple[tuple[int, int], tuple[int, int], str]] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.STRING or tok.type == getattr(tokenize, "FSTRING_MIDDLE", -1):
                strings.append((tok.start, tok.end, tok.string))
    except (tokenize.TokenError, SyntaxError):
        pass  # the parse after substitution reports it with file and line
    out = []
    for row, line in enumerate(lines, start=1):
        def repl(m: re.Match[str], row: int = row) -> str:
            pos = (row, m.start())
            where = f"{label}:{row}"
            value = _lookup(base, m.group(1), where)
            for start, end, tok in strings:
                if start <= pos < end:
                    shown = value if isinstance(value, str) else str(to_plain(value))
                    return _escape(shown, tok)
            return f"{_REF_FN}({m.group(1)!r})"
        out.append(_REF.sub(repl, line) if "{{" in line else line)
    return "".join(out)


def _substitute_data(value: Any, base: ConfigDict, label: str) -> Any:
    """``{{_base_.x}}`` in JSON/YAML strings: a whole-string reference keeps the value's type."""
    if isinstance(value, dict):
        return {k: _substitute_data(v, base, label) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute_data(v, base, label) for v in value]
    if isinstance(value, str) and "{{" in value:
        whole = _REF.fullmatch(value.strip())
        if whole:
            return to_plain(_lookup(base, whole.group(1), label))
        return _REF.sub(lambda m: str(to_plain(_lookup(base, m.group(1), label))), value)
    return value


# ------------------------------------------------------------------ execution
def _keep(name: str, value: Any) -> bool:
    if name.startswith("_"):
        return False
    return not isinstance(value, (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, type))


def _run(code: types.CodeType, path: str, label: str, text: str, bases: ConfigDict | None) -> dict[str, Any]:
    """Execute a config's code in a namespace of its own and return the namespace."""
    namespace: dict[str, Any] = {"__file__": path, "__name__": "__segdet_config__"}
    if bases is not None:
        def ref(dotted: str) -> Any:
            return to_plain(_lookup(bases, dotted, label))

        namespace[_REF_FN] = ref
    try:
        exec(code, namespace)
    except ConfigError:
        raise
    except Exception as err:
        raise _runtime_error(err, path, label, text) from err
    return namespace


def _collect(namespace: dict[str, Any], src: SourceFile) -> ConfigDict:
    """The config values a file set: public names that are no module, function or class."""
    own = ConfigDict.__new__(ConfigDict)
    object.__setattr__(own, "_cd_src", src)
    for name, value in namespace.items():
        if _keep(name, value):
            dict.__setitem__(own, name, _convert(value, (name,), src=src))
    return own


def _runtime_error(err: Exception, path: str, label: str, text: str) -> ConfigError:
    line = None
    tb = err.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == path:
            line = tb.tb_lineno
        tb = tb.tb_next
    source = ""
    if line is not None:
        lines = text.splitlines()
        if 0 < line <= len(lines):
            source = f"\n    {lines[line - 1].strip()}"
    where = f"{label}:{line}" if line is not None else label
    return ConfigError(f"{where}: error while executing config: {type(err).__name__}: {err}{source}")


def iter_config_files(root: str) -> Iterable[str]:
    """Every config file under ``root`` (sorted), for tools and benchmarks."""
    for dirpath, _dirs, files in sorted(os.walk(root)):
        for name in sorted(files):
            if os.path.splitext(name)[1] in EXTENSIONS:
                yield os.path.join(dirpath, name)

