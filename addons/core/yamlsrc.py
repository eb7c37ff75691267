"""YAML text to plain data that remembers line numbers.

Mappings become `LMap` (a dict with `.line` and `.lines[key]`), sequences become
`LList` (a list with `.line` and `.lines[i]`). Duplicate keys are errors. The
resolver follows YAML 1.2 where YAML 1.1 surprises people: `07:00` stays the
string "07:00" (not the sexagesimal number 420) and only true/false are booleans
(so `no` and `on` stay strings).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from .errors import Collector, ConfigError, suggest


class LMap(dict):  # type: ignore[type-arg]
    line: int = 0
    lines: dict[Any, int]

    def line_of(self, key: Any) -> int:
        return self.lines.get(key, self.line)


class LList(list):  # type: ignore[type-arg]
    line: int = 0
    lines: list[int]

    def line_of(self, index: int) -> int:
        return self.lines[index] if index < len(self.lines) else self.line


class _DuplicateKey(Exception):
    def __init__(self, key: Any, line: int, first: int):
        self.key, self.line, self.first = key, line, first


class _Loader(yaml.SafeLoader):
    pass


# Replace YAML 1.1's implicit resolvers for bool and int with YAML 1.2's.
_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:int")]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
    list("-+0123456789"),
)


def _construct_mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> LMap:
    loader.flatten_mapping(node)
    result = LMap()
    result.line = node.start_mark.line + 1
    result.lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain value", key_node.start_mark
            ) from None
        if key in result:
            raise _DuplicateKey(key, line, result.lines[key])
        result[key] = loader.construct_object(value_node, deep=True)
        result.lines[key] = line
    return result


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode, deep: bool = False) -> LList:
    result = LList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.lines = [child.start_mark.line + 1 for child in node.value]
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def parse(text: str, source: str) -> tuple[Any, list[ConfigError]]:
    """Parse one YAML document. Returns (data, errors); data is None on error."""
    try:
        loader = _Loader(text)
        try:
            data = loader.get_single_data()
        finally:
            loader.dispose()
    except _DuplicateKey as e:
        return None, [
            ConfigError(
                source,
                e.line,
                f"duplicate key '{e.key}' (first defined on line {e.first})",
                "keep one of them; YAML would silently use only the last",
            )
        ]
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        problem = (e.problem or e.context or "invalid YAML").strip()
        return None, [
            ConfigError(
                source,
                line,
                f"YAML syntax error: {problem}",
                "check the indentation (spaces, not tabs), the colons and the quotes on this line",
            )
        ]
    except yaml.YAMLError as e:
        return None, [ConfigError(source, None, f"YAML error: {e}", "check the file's syntax")]
    return data, []


def check_keys(
    spec: LMap,
    allowed: tuple[str, ...],
    where: str,
    source: str,
    errors: Collector,
    migrated: dict[str, str] | None = None,
) -> None:
    """Unknown keys are errors with a suggestion; renamed keys are read with a warning."""
    for key in list(spec):
        new = (migrated or {}).get(key)
        if new is not None and new in allowed:
            errors.warn(source, spec.line_of(key), f"'{key}' is the old name of '{new}'",
                        f"rename it to '{new}'")
            if new in spec:
                errors.error(source, spec.line_of(key), f"both '{key}' and '{new}' are set",
                             f"keep only '{new}'")
            else:
                spec[new] = spec.pop(key)
                spec.lines[new] = spec.lines[key]
        elif key not in allowed:
            errors.error(source, spec.line_of(key), f"unknown key '{key}' in {where}",
                         suggest(str(key), allowed))
