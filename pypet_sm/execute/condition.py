"""Conditions on explored parameters (`pypet-sm forget --where "x > 0.5 and y == 2"`).

A condition is parsed with Python's grammar but never evaluated as Python: only the nodes
below are accepted and interpreted here, so a condition cannot call, import or reach
anything (no names but the explored parameters, no attributes but dotted parameter names).

    comparisons   x > 0.5   0.1 <= x < 0.5   y == 2   y != 2   label in ("a", "b")
    logic         and  or  not  ( ... )
    values        numbers (with a sign), strings, True, False, None, tuples/lists of them
    names         an explored parameter: its full name (model.x) or its last part (x)
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pypet_sm.errors import PypetSmError

_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}


class ConditionError(PypetSmError):
    """A condition that is not one of the accepted forms, or that cannot be decided."""


Values = Mapping[str, Any]


class Condition:
    """A parsed condition; `matches(values)` decides it for one run's explored values."""

    def __init__(self, text: str, explored: Sequence[str]) -> None:
        self.text = text
        self._names = _name_table(explored)
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as error:
            raise ConditionError(f"--where {text!r}: not a condition ({error.msg})") from None
        self._test = self._compile(tree.body)

    def matches(self, values: Values) -> bool:
        try:
            decided = self._test(values)
            return bool(decided)
        except ConditionError:
            raise
        except Exception as error:  # "a" < 1.0, an array compared to a number, ...
            shown = {name: values[name] for name in sorted(values)}
            raise ConditionError(
                f"--where {self.text!r} cannot be decided for the run with {shown}: "
                f"{type(error).__name__}: {error}"
            ) from None

    # compiling the accepted nodes into closures -------------------------------------------
    def _compile(self, node: ast.AST) -> Callable[[Values], Any]:
        if isinstance(node, ast.BoolOp):
            parts = [self._compile(value) for value in node.values]
            if isinstance(node.op, ast.And):
                return lambda values: all(bool(part(values)) for part in parts)
            return lambda values: any(bool(part(values)) for part in parts)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            inner = self._compile(node.operand)
            return lambda values: not bool(inner(values))
        if isinstance(node, ast.Compare):
            return self._comparison(node)
        if isinstance(node, (ast.Name, ast.Attribute)):
            name = self._parameter(node)
            return lambda values: values[name]
        constant = self._constant(node)
        return lambda values: constant

    def _comparison(self, node: ast.Compare) -> Callable[[Values], Any]:
        terms = [self._compile(node.left), *(self._compile(c) for c in node.comparators)]
        ops = []
        for op in node.ops:
            if type(op) not in _COMPARE:
                raise self._refused(op)
            ops.append(_COMPARE[type(op)])

        def compare(values: Values) -> bool:
            left = terms[0](values)
            for op, term in zip(ops, terms[1:], strict=True):
                right = term(values)
                if not bool(op(left, right)):
                    return False
                left = right
            return True

        return compare

    def _parameter(self, node: ast.AST) -> str:
        dotted = _dotted(node)
        if dotted is None:
            raise self._refused(node)
        found = self._names.get(dotted.removeprefix("parameters."))
        if found is None:
            raise ConditionError(
                f"--where {self.text!r}: {dotted!r} is not an explored parameter "
                f"(explored: {', '.join(sorted(set(self._names.values()))) or 'none'})"
            )
        if found == "":
            full = sorted(n for n in set(self._names.values()) if n.endswith(f".{dotted}"))
            raise ConditionError(
                f"--where {self.text!r}: {dotted!r} names several explored parameters "
                f"({', '.join(full)}); write the full name"
            )
        return found

    def _constant(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Constant) and isinstance(
            node.value, (int, float, complex, str, bool, type(None))
        ):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            value = self._constant(node.operand)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, (ast.Tuple, ast.List)):
            return tuple(self._constant(element) for element in node.elts)
        raise self._refused(node)

    def _refused(self, node: ast.AST) -> ConditionError:
        try:
            shown = ast.unparse(node)
        except Exception:  # an operator node has no source of its own
            shown = type(node).__name__
        return ConditionError(
            f"--where {self.text!r}: {shown!r} is not accepted; use comparisons (< <= > >= "
            "== != in, not in) of explored parameters with numbers or strings, joined by "
            "and / or / not"
        )


def _dotted(node: ast.AST) -> str | None:
    """`model.x` for Attribute(Name(model), x); None for anything else."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def _name_table(explored: Sequence[str]) -> dict[str, str]:
    """Full names and unique last parts -> full name; an ambiguous last part -> ""."""
    table: dict[str, str] = {}
    for name in explored:
        short = name.rsplit(".", 1)[-1]
        if short != name:
            table[short] = "" if short in table and table[short] != name else name
    for name in explored:
        table[name] = name
    return table
