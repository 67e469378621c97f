"""Reading config.yaml as a careful user expects, before and after Snakemake reads it.

Snakemake loads config files itself (JSON first, then YAML with PyYAML's FullLoader, through
yte: snakemake/common/configfile.py) and says neither the file nor the line of an error, lets
a key given twice keep its last value without a word, and reads `1e-3` as the string '1e-3'
(YAML 1.1 floats need a dot and a signed exponent). The workflow's Snakefile therefore reads
the same files with `check()` first: one message naming the file and line for a syntax error,
a tab, an empty or non-mapping file and a duplicate key. After Snakemake has loaded them,
`retype()` makes the plain scalars that YAML 1.2 reads as floats (`1e-3`, `2E5`) floats in
Snakemake's config; a quoted '1e-3' stays a string.

Files given with `snakemake --configfile` are loaded by Snakemake before any workflow code
runs: a syntax error in one, or one that is empty or a list, stops Snakemake with its own
message ("Config file is not valid JSON or YAML ...") before pypet_sm can name the line. Files
that Snakemake could load are checked and retyped here like config.yaml.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from pypet_sm.errors import PypetSmError

DEFAULT = "config.yaml"
EXPECTED = "a mapping of settings (trajectory:, parameters:, exploration:, job:, ...)"
# YAML 1.2's floats that YAML 1.1 leaves as strings: an exponent without a dot or without a
# sign (1e-3, 1e5, 1.5e3, .5E2); the forms with both are floats in YAML 1.1 already.
FLOAT_12 = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$")


class ConfigFileError(PypetSmError):
    """A config file that cannot be read as the mapping of settings it must be."""


class _Loader(yaml.FullLoader):
    """Snakemake's loader, with YAML 1.2 floats and with duplicate keys refused."""

    def __init__(self, stream: str, name: str) -> None:
        super().__init__(stream)
        self.file_name = name

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Mark] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<:` merges; keys given beside it override it, as YAML says
            try:
                key = self.construct_object(key_node, deep=True)
                hash(key)
            except (TypeError, yaml.YAMLError):
                continue  # the constructor below says what is wrong with such a key
            if isinstance(key, str) and key.startswith("?"):
                continue  # a yte template's `?if`/`?for` keys, which Snakemake renders
            mark = key_node.start_mark
            if key in seen:
                first = seen[key]
                here, there = f"line {mark.line + 1}", f"line {first.line + 1}"
                if first.line == mark.line:
                    here += f", column {mark.column + 1}"
                    there += f", column {first.column + 1}"
                raise ConfigFileError(
                    f"{self.file_name} {here}: key {key!r} appears twice in one mapping "
                    f"(first at {there}); YAML would keep only the last value"
                )
            seen[key] = mark
        return super().construct_mapping(node, deep=deep)


_Loader.add_implicit_resolver("tag:yaml.org,2002:float", FLOAT_12, list("-+0123456789."))


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _DuplicateJsonKey(key)
        found[key] = value
    return found


class _DuplicateJsonKey(Exception):
    pass


def _where(name: str, error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    where = f"{name} line {mark.line + 1}, column {mark.column + 1}" if mark else name
    if "'\\t'" in problem:
        problem += " (a tab: YAML indents with spaces only)"
    context = getattr(error, "context", None)
    context_mark = getattr(error, "context_mark", None)
    if context and context_mark is not None:
        problem += f", {context} started at line {context_mark.line + 1}"
    return f"{where}: {problem}"


def _parse_yaml(text: str, name: str) -> Any:
    loader = _Loader(text, name)
    try:
        node = loader.get_single_node()
        return None if node is None else (node, loader.construct_document(node))
    except yaml.YAMLError as error:
        raise ConfigFileError(f"{_where(name, error)}") from None
    finally:
        loader.dispose()


def load(path: str | os.PathLike[str]) -> Any:
    """The document of a config file (JSON or YAML, as Snakemake reads it), or a
    ConfigFileError naming the file and the line."""
    name = _shown(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except IsADirectoryError:
        raise ConfigFileError(f"config file {name} is a folder, not a file") from None
    except FileNotFoundError:
        hint = " (write one, or name yours with --configfile)" if name == DEFAULT else ""
        raise ConfigFileError(f"config file {name} does not exist{hint}") from None
    except UnicodeDecodeError as error:
        raise ConfigFileError(
            f"{name} is not UTF-8 text (byte {error.start}): save it as UTF-8"
        ) from None
    except OSError as error:
        raise ConfigFileError(f"cannot read config file {name}: {error.strerror}") from None
    try:
        document = json.loads(text, object_pairs_hook=_json_pairs)
    except _DuplicateJsonKey as duplicate:
        _parse_yaml(text, name)  # names the line where it can
        raise ConfigFileError(f"{name}: key {duplicate.args[0]!r} appears twice") from None
    except ValueError:
        parsed = _parse_yaml(text, name)
        if parsed is None:
            raise ConfigFileError(f"{name} is empty: expected {EXPECTED}") from None
        node, document = parsed
        if not isinstance(document, dict):
            raise ConfigFileError(
                f"{name} line {node.start_mark.line + 1}: expected {EXPECTED}, "
                f"got {_kind(document)}"
            ) from None
        return document
    if not isinstance(document, dict):
        raise ConfigFileError(f"{name}: expected {EXPECTED}, got {_kind(document)}")
    return document


def _shown(path: str | os.PathLike[str]) -> str:
    """The path as the user gave it: relative to the project where it is inside it."""
    relative = os.path.relpath(path)
    return str(path) if relative.startswith("..") else relative


def _kind(document: Any) -> str:
    if isinstance(document, list):
        return "a list"
    return f"the {type(document).__name__} {document!r}"[:100]


def files(workflow: Any) -> list[str]:
    """The config files the workflow reads: those given with --configfile, else config.yaml."""
    return [str(path) for path in workflow.overwrite_configfiles] or [DEFAULT]


def check(paths: Sequence[str | os.PathLike[str]]) -> list[dict[str, Any]]:
    """Every config file read strictly (ConfigFileError for the first bad one)."""
    return [load(path) for path in paths]


def retype(config: dict[str, Any], documents: Iterable[dict[str, Any]]) -> None:
    """Make the strings of Snakemake's `config` that the files hold as YAML 1.2 floats
    floats, in place. Later files override earlier ones, as in Snakemake."""
    merged: dict[str, Any] = {}
    for document in documents:
        if "__use_yte__" in document:
            continue  # a yte template: Snakemake's rendering made the values, not the file
        _update(merged, document)
    _retype(config, merged)


def _update(target: dict[Any, Any], source: dict[Any, Any]) -> None:
    for key, value in source.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _update(target[key], value)
        else:
            target[key] = value


def _retype(target: Any, strict: Any) -> Any:
    if isinstance(strict, float) and isinstance(target, str) and FLOAT_12.match(target):
        return float(target)
    if isinstance(strict, dict) and isinstance(target, dict):
        for key, value in strict.items():
            if key in target:
                target[key] = _retype(target[key], value)
    elif isinstance(strict, list) and isinstance(target, list) and len(strict) == len(target):
        target[:] = [_retype(t, s) for t, s in zip(target, strict, strict=True)]
    return target
