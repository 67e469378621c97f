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
    empty = [name for name in parameter_dict if not len(parameter_dict[name])]
    if empty:
        raise ValueError(f"no values for {', '.join(map(repr, empty))}: the product has no runs")
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
# pypet names runs run_%08d: no exploration may have more runs than that format can name.
# Sizes are checked before any list is built, so a typo like `range: [0, 1e12, 1]` is one
# message, not a parse that fills the memory.
MAX_RUNS = 100_000_000


def _numbers(field: str, args: Any, count: int) -> list[float]:
    if (
        not isinstance(args, list)
        or len(args) not in (count, count - 1)
        or any(isinstance(a, bool) or not isinstance(a, (int, float)) for a in args)
    ):
        raise ConfigError(field, f"expected a list of {count - 1} or {count} numbers, got {args!r}")
    bad = [a for a in args if isinstance(a, float) and not math.isfinite(a)]
    if bad:
        raise ConfigError(field, f"expected finite numbers, got {bad[0]!r} in {args!r}")
    return args


def _too_many(field: str, size: int) -> None:
    if size > MAX_RUNS:
        raise ConfigError(field, f"{size:,} values; an exploration has at most {MAX_RUNS:,} runs")


def _range(field: str, args: list[float]) -> list[Any]:
    start, stop, step = (*args, 1)[:3]
    if step == 0:
        raise ConfigError(field, f"step 0 in {args!r}: expected [start, stop, step], step not 0")
    try:
        if all(isinstance(a, int) for a in args):
            size = len(range(*map(int, args)))
        else:
            size = max(0, math.ceil((stop - start) / step))
    except OverflowError:
        size = MAX_RUNS + 1  # beyond what a float or an index holds
    if not size:
        direction = "start < stop" if step > 0 else "start > stop"
        raise ConfigError(field, f"{args!r} is empty: step {step!r} needs {direction}")
    if size > MAX_RUNS:
        raise ConfigError(
            field, f"{args!r} has more than {MAX_RUNS:,} values, the most runs an exploration has"
        )
    if all(isinstance(a, int) for a in args):
        return list(range(*map(int, args)))
    return np.arange(*args).tolist()


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
        return _range(field, _numbers(field, args, 3))
    args = _numbers(field, args, 3)
    if len(args) != 3 or not isinstance(args[2], int) or args[2] < 1:
        raise ConfigError(field, f"expected [start, stop, num] with an integer num >= 1: {args!r}")
    _too_many(field, args[2])
    function = np.linspace if helper == "linspace" else np.logspace
    with np.errstate(over="ignore"):
        values = function(args[0], args[1], args[2])
    if not np.isfinite(values).all():
        raise ConfigError(field, f"{args!r} gives values too large for a float (inf)")
    return values.tolist()


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
    return {name: _explored(f"{field}.{name}", name, spec, convert)}, (name,)


def _explored(field: str, name: str, spec: Any, convert: Convert) -> list[Any]:
    """One parameter's listed values, typed; never none (the product would have no runs)."""
    values = expand_values(field, spec)
    if not values:
        raise ConfigError(
            field, f"is empty: no values for {name!r}, so the exploration has no runs"
        )
    _too_many(field, len(values))
    return convert(name, values, field)


def _zip(field: str, spec: Any, convert: Convert) -> dict[str, list[Any]]:
    if not isinstance(spec, dict) or not spec:
        raise ConfigError(field, f"expected a mapping of parameter name to values, got {spec!r}")
    values = {
        name: _explored(f"{field}.{name}", name, item, convert) for name, item in spec.items()
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
    sizes = []
    for position, item in enumerate(body):
        values, names = _factor(f"{field}[{position}]", item, convert)
        for name in names:
            if name in parameter_dict:
                raise ConfigError(f"{field}[{position}]", f"parameter {name!r} appears twice")
        parameter_dict.update(values)
        order.append(names)
        sizes.append(len(values[names[0]]))
    runs = math.prod(sizes)
    if runs > MAX_RUNS:
        factors = " x ".join(f"{size:,}" for size in sizes)
        raise ConfigError(
            field, f"{factors} = {runs:,} runs; an exploration has at most {MAX_RUNS:,} runs"
        )
    return cartesian_product(parameter_dict, order)
