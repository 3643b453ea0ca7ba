"""Line numbers of config values, read from a Python config file's syntax tree.

A config file sets its values with top-level assignments whose right-hand
sides are ``dict(key=...)`` calls, ``{...}`` literals, lists and tuples. We
walk those expressions in step with the value the file produced, so every leaf
gets the line of the keyword (or dict-literal key, or list element) that set
it. Where the walk cannot follow (a function call, a comprehension, a
variable), a value inherits the line of its closest mapped ancestor.
"""
from __future__ import annotations

import ast
from typing import Any

__all__ = ["LineNode", "SourceFile", "line_map", "yaml_lines"]


class LineNode:
    """The line that set one value, and the nodes of its children by key or index."""

    __slots__ = ("line", "children")

    def __init__(self, line: int | None = None) -> None:
        self.line = line
        self.children: dict[Any, LineNode] = {}

    def child(self, key: Any) -> LineNode:
        node = self.children.get(key)
        if node is None:
            node = self.children[key] = LineNode()
        return node

    def __repr__(self) -> str:
        return f"LineNode({self.line}, {self.children})"


_NESTED = (ast.Call, ast.Dict, ast.List, ast.Tuple)


def _is_dict_call(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and (
        (isinstance(node.func, ast.Name) and node.func.id in ("dict", "ConfigDict"))
        or (isinstance(node.func, ast.Attribute) and node.func.attr in ("dict", "ConfigDict"))
    )


def _expr_node(expr: ast.expr, line: int) -> LineNode:
    """A LineNode for ``expr``, set at ``line``, with children for what it contains."""
    node = LineNode(line)
    if isinstance(expr, _NESTED):
        _fill(node, expr)
    return node


def _fill(node: LineNode, expr: ast.expr) -> None:
    if _is_dict_call(expr):
        assert isinstance(expr, ast.Call)
        if len(expr.args) == 1 and isinstance(expr.args[0], (ast.Dict, ast.Call)):
            _fill(node, expr.args[0])
        for kw in expr.keywords:
            if kw.arg is not None:
                node.children[kw.arg] = _expr_node(kw.value, getattr(kw, "lineno", kw.value.lineno))
    elif isinstance(expr, ast.Dict):
        for key, value in zip(expr.keys, expr.values):
            if isinstance(key, ast.Constant) and isinstance(key.value, (str, int, float, bool)):
                node.children[key.value] = _expr_node(value, key.lineno)
    elif isinstance(expr, (ast.List, ast.Tuple)):
        if any(isinstance(e, ast.Starred) for e in expr.elts):
            return  # indices after a *splat are unknown
        for i, elt in enumerate(expr.elts):
            # Only containers need a node: their items take lines from it.
            if isinstance(elt, _NESTED):
                node.children[i] = _expr_node(elt, elt.lineno)


def _subscript_keys(target: ast.expr) -> list[Any] | None:
    """``model['a']['b']`` -> ``['model', 'a', 'b']``; None for other targets."""
    keys: list[Any] = []
    while isinstance(target, ast.Subscript):
        sl = target.slice
        if not isinstance(sl, ast.Constant):
            return None
        keys.append(sl.value)
        target = target.value
    if not isinstance(target, ast.Name):
        return None
    keys.append(target.id)
    return keys[::-1]


def _assign(names: dict[str, LineNode], target: ast.expr, value: ast.expr | None, line: int) -> None:
    if isinstance(target, ast.Name):
        names[target.id] = _expr_node(value, line) if value is not None else LineNode(line)
    elif isinstance(target, (ast.Tuple, ast.List)):
        same = isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(target.elts)
        for i, elt in enumerate(target.elts):
            sub = value.elts[i] if same and value is not None and isinstance(value, (ast.Tuple, ast.List)) else None
            _assign(names, elt, sub, line)
    elif isinstance(target, ast.Subscript):
        keys = _subscript_keys(target)
        if keys and keys[0] in names:
            node = names[keys[0]]
            for key in keys[1:-1]:
                node = node.child(key)
            node.children[keys[-1]] = (
                _expr_node(value, line) if value is not None else LineNode(line)
            )


def _walk(body: list[ast.stmt], names: dict[str, LineNode]) -> None:
    for stmt in body:
        if isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                _assign(names, target, stmt.value, stmt.lineno)
        elif isinstance(stmt, ast.AnnAssign):
            _assign(names, stmt.target, stmt.value, stmt.lineno)
        elif isinstance(stmt, ast.AugAssign):
            _assign(names, stmt.target, None, stmt.lineno)
        elif isinstance(stmt, (ast.If, ast.For, ast.While, ast.With, ast.Try)):
            for block in ("body", "orelse", "finalbody"):
                _walk(getattr(stmt, block, []) or [], names)
            for handler in getattr(stmt, "handlers", []) or []:
                _walk(handler.body, names)


def line_map(tree: ast.Module) -> dict[str, LineNode]:
    """Top-level names of a config module -> where (and how) they were set."""
    names: dict[str, LineNode] = {}
    _walk(tree.body, names)
    return names


def yaml_lines(node: Any) -> LineNode:
    """LineNodes of a composed YAML node: each value at the line of its key (or item)."""
    result = LineNode(node.start_mark.line + 1)
    value = node.value
    if isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, tuple):  # a mapping: (key node, value node)
                key_node, value_node = item
                child = yaml_lines(value_node)
                child.line = key_node.start_mark.line + 1
                result.children[key_node.value] = child
            else:
                result.children[i] = yaml_lines(item)
    return result


class SourceFile:
    """One loaded config file: the origin of the values it set.

    The lines of its values are read from its text the first time anyone asks
    (``describe``), so loading stays as cheap as compiling the file.

    Args:
        label: how the file is shown (``'configs/x.py'``).
        text: the text that was executed (after ``{{...}}`` substitution).
        kind: ``'py'``, ``'yaml'`` or ``'json'`` (JSON values get no line).
        nodes: line nodes already known, if the loader parsed the file anyway.
    """

    __slots__ = ("label", "text", "kind", "_nodes")

    def __init__(self, label: str, text: str, kind: str, nodes: dict[Any, LineNode] | None = None) -> None:
        self.label = label
        self.text = text
        self.kind = kind
        self._nodes = nodes

    def nodes(self) -> dict[Any, LineNode]:
        if self._nodes is None:
            self._nodes = {}
            try:
                if self.kind == "py":
                    self._nodes = line_map(ast.parse(self.text))
                elif self.kind == "yaml":
                    self._nodes = _yaml_nodes(self.text)
            except Exception:  # the file loaded once; without lines, the file alone is shown
                pass
        return self._nodes

    def line(self, path: tuple[Any, ...]) -> int | None:
        """The line that set the value at ``path`` (of this file's own values)."""
        nodes: dict[Any, LineNode] | None = self.nodes()
        line = None
        for key in path:
            node = nodes.get(key) if nodes else None
            if node is None:
                break  # set by code we cannot follow: the enclosing line stands
            if node.line is not None:
                line = node.line
            nodes = node.children
        return line

    def describe(self, path: tuple[Any, ...]) -> str:
        line = self.line(path)
        return f"{self.label}:{line}" if line is not None else self.label

    def __repr__(self) -> str:
        return f"SourceFile({self.label!r})"


def _yaml_nodes(text: str) -> dict[Any, LineNode]:
    import yaml

    loader_cls = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    node = yaml.compose(text, Loader=loader_cls)
    return yaml_lines(node).children if node is not None else {}
