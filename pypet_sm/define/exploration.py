"""Explorations: pypet's `cartesian_product` and the `exploration:` section of config.yaml.

An exploration is a dict of equal-length lists, parameter name -> one value per run, in run
order; this is what `traj.f_explore` takes. The config section builds such a dict:

    exploration:
      product:                    # cartesian product, the first parameter varies slowest
        neuron.I: {linspace: [0, 1.5, 22]}
        neuron.tau_ref: [2.0, 5.0]
    # or a list of factors, where a factor zips several parameters (combined_parameters):
      product:
        - neuron.tau_ref: [2.0, 5.0]
        - zip: {x: [1, 2, 3], y: [4, 5, 6]}
    # or
      zip: {x: [1, 2, 3], y: [4, 5, 6]}    # f_explore: equal-length lists, one run each
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from pypet_sm.errors import ConfigError


def cartesian_product(
    parameter_dict: Mapping[str, Sequence[Any]],
    combined_parameters: Iterable[str | Sequence[str]] = (),
) -> dict[str, list[Any]]:
    """pypet's cartesian product: every combination, the first factor varying slowest.

    `combined_parameters` orders the factors; a tuple of names inside it is one factor whose
    parameters are zipped (they must have equal lengths). Without it the dict order is used.
    """
    factors = [
        (item,) if isinstance(item, str) else tuple(item)
        for item in (combined_parameters or parameter_dict)
    ]
    named = [name for factor in factors for name in factor]
    missing = [name for name in parameter_dict if name not in named]
    unknown = [name for name in named if name not in parameter_dict]
    if missing or unknown or len(named) != len(set(named)):
        raise ValueError(
            "combined_parameters must name every parameter of the dict exactly once; "
            f"missing: {missing}, unknown: {unknown}"
        )
    zipped = []
    for factor in factors:
        lengths = {name: len(parameter_dict[name]) for name in factor}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"combined parameters need equal lengths, got {lengths}")
        zipped.append(next(iter(lengths.values())))
    # Each value repeats for every combination of the later factors, and the whole pattern
    # for every combination of the earlier ones: built with list repetition, not per run.
    result: dict[str, list[Any]] = {}
    for position, factor in enumerate(factors):
        inner = math.prod(zipped[position + 1 :])
        outer = math.prod(zipped[:position])
        for name in factor:
            pattern = list(
                itertools.chain.from_iterable(
                    itertools.repeat(value, inner) for value in parameter_dict[name]
                )
            )
            result[name] = pattern * outer
    return {name: result[name] for name in parameter_dict}


RANGE_HELPERS = ("values", "range", "linspace", "logspace")


def _numbers(field: str, args: Any, count: int) -> list[float]:
    if (
        not isinstance(args, list)
        or len(args) not in (count, count - 1)
        or any(isinstance(a, bool) or not isinstance(a, (int, float)) for a in args)
    ):
        raise ConfigError(field, f"expected a list of {count - 1} or {count} numbers, got {args!r}")
    return args


def expand_values(field: str, spec: Any) -> list[Any]:
    """Explored values: a list, or one of `values`, `range`, `linspace`, `logspace`."""
    if isinstance(spec, list):
        return list(spec)
    if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in RANGE_HELPERS:
        raise ConfigError(
            field,
            "expected a list of values or one of {values: [...]}, {range: [start, stop, step]}, "
            f"{{linspace: [start, stop, num]}}, {{logspace: [start, stop, num]}}; got {spec!r}",
        )
    helper, args = next(iter(spec.items()))
    field = f"{field}.{helper}"
    if helper == "values":
        if not isinstance(args, list):
            raise ConfigError(field, f"expected a list, got {args!r}")
        return list(args)
    if helper == "range":
        args = _numbers(field, args, 3)
        if all(isinstance(a, int) for a in args):
            return list(range(*map(int, args)))
        return np.arange(*args).tolist()
    args = _numbers(field, args, 3)
    if len(args) != 3 or not isinstance(args[2], int) or args[2] < 1:
        raise ConfigError(field, f"expected [start, stop, num] with an integer num >= 1: {args!r}")
    function = np.linspace if helper == "linspace" else np.logspace
    return function(args[0], args[1], args[2]).tolist()


Convert = Callable[[str, list[Any], str], list[Any]]


def _keep(name: str, values: list[Any], field: str) -> list[Any]:
    return values


def _factor(
    field: str, item: Any, convert: Convert
) -> tuple[dict[str, list[Any]], tuple[str, ...]]:
    if not isinstance(item, dict) or len(item) != 1:
        raise ConfigError(
            field, f"expected one 'name: values' or 'zip: {{...}}' entry, got {item!r}"
        )
    name, spec = next(iter(item.items()))
    if name == "zip":
        values = _zip(f"{field}.zip", spec, convert)
        return values, tuple(values)
    return {name: convert(name, expand_values(f"{field}.{name}", spec), f"{field}.{name}")}, (name,)


def _zip(field: str, spec: Any, convert: Convert) -> dict[str, list[Any]]:
    if not isinstance(spec, dict) or not spec:
        raise ConfigError(field, f"expected a mapping of parameter name to values, got {spec!r}")
    values = {
        name: convert(name, expand_values(f"{field}.{name}", item), f"{field}.{name}")
        for name, item in spec.items()
    }
    lengths = {name: len(v) for name, v in values.items()}
    if len(set(lengths.values())) > 1:
        raise ConfigError(field, f"zipped parameters need equal lengths, got {lengths}")
    return values


def from_config(
    spec: Any, field: str = "exploration", convert: Convert = _keep
) -> dict[str, list[Any]]:
    """The exploration dict described by the config's `exploration:` section (may be empty).

    `convert(name, values, field)` types each parameter's listed values before the product
    repeats them, so the work scales with the values listed, not with the runs.
    """
    if not spec:
        return {}
    if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in ("product", "zip"):
        raise ConfigError(field, f"expected exactly one of 'product' or 'zip', got {spec!r}")
    kind, body = next(iter(spec.items()))
    field = f"{field}.{kind}"
    if kind == "zip":
        return _zip(field, body, convert)
    if isinstance(body, dict):
        body = [{name: values} for name, values in body.items()]
    if not isinstance(body, list) or not body:
        raise ConfigError(field, f"expected a mapping or a list of factors, got {body!r}")
    parameter_dict: dict[str, list[Any]] = {}
    order = []
    for position, item in enumerate(body):
        values, names = _factor(f"{field}[{position}]", item, convert)
        for name in names:
            if name in parameter_dict:
                raise ConfigError(f"{field}[{position}]", f"parameter {name!r} appears twice")
        parameter_dict.update(values)
        order.append(names)
    return cartesian_product(parameter_dict, order)
