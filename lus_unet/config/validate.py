"""Walk a composed config against a dataclass schema: the first refused value is a ConfigError.

A schema is a dataclass (a description, never instantiated) whose fields are the keys of one
config group, typed with ``bool``, ``int``, ``float``, ``str``, ``Literal``, ``list[...]``,
``dict[str, ...]``, ``Any``, unions with ``None``, nested schemas, or a union of schemas told
apart by a ``Literal`` field (the ``model.name``, the ``data._target_``), each optionally
``Annotated`` with the rules of :mod:`lus_unet.config.rules`. A group refuses keys its schema
does not list unless the schema sets ``open_keys = True``; a schema may define
``check_together(node, key)`` for rules that span several keys, called once its keys are known
to be well typed.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from omegaconf import DictConfig, ListConfig
from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException

from lus_unet.config.rules import Explain, MayBeAbsent, OneOf, Required
from lus_unet.errors import ConfigError

_NONE = type(None)


def validate(cfg: Any, schema: type, key: str = "") -> None:
    """Raise a one-line ConfigError for the first value of ``cfg`` that ``schema`` refuses.

    Args:
        cfg: a composed config, or a plain dict such as a run's stored configuration.
        schema: the dataclass describing it.
        key: the dotted key of ``cfg`` in the whole config ("" for the root).
    """
    _check_value(cfg, schema, key)


def show(value: Any) -> str:
    """A config value as a user types it: ``null``, ``true``, ``[a, b]``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, Mapping | DictConfig):
        return "{" + ", ".join(f"{k}: {show(value[k])}" for k in value) + "}"
    if _is_sequence(value):
        return "[" + ", ".join(show(item) for item in value) + "]"
    return str(value)


def join(key: str, name: object) -> str:
    """The dotted key of ``name`` inside the group at ``key``."""
    return f"{key}.{name}" if key else str(name)


def get(node: Any, name: str, key: str) -> Any:
    """``node[name]`` resolved, or a ConfigError naming ``key`` (unset or unresolvable)."""
    try:
        return node[name]
    except MissingMandatoryValue:
        raise ConfigError(f"{key}=???: needs a value") from None
    except OmegaConfBaseException as error:
        reason = str(error).splitlines()[0]
        raise ConfigError(f"{key}: cannot be resolved ({reason})") from None


def _check_value(value: Any, hint: Any, key: str) -> None:
    base, rules = _split(hint)
    required = next((rule for rule in rules if isinstance(rule, Required)), None)
    if required is not None and _is_empty(value):
        raise ConfigError(f"{key}=<{required.hint}> is required")
    if value is None:
        if not _allows_none(base):
            raise ConfigError(f"{key}=null: {_explained(rules, f'must be {_describe(base)}')}")
        return
    schemas = _schemas(base)
    if schemas:
        if not _is_mapping(value):
            raise ConfigError(f"{key}={show(value)}: must be a group of keys")
        _check_group(value, _pick(value, schemas, key), key)
        return
    if get_origin(base) is dict:
        if not _is_mapping(value):
            raise ConfigError(f"{key}={show(value)}: must be a group of keys")
        for name in value:
            _check_value(get(value, name, join(key, name)), get_args(base)[1], join(key, name))
        return
    problem = _problem(value, base, rules)
    if problem is not None:
        raise ConfigError(f"{key}={show(value)}: {problem}")


def _check_group(node: Any, schema: type, key: str) -> None:
    hints = typing.get_type_hints(schema, include_extras=True)
    names = [field.name for field in dataclasses.fields(schema)]
    present = list(node.keys())  # `in` on a DictConfig is false for an unset (???) key
    if not getattr(schema, "open_keys", False):
        for name in present:
            if name not in names:
                raise ConfigError(f"{join(key, name)}: unknown key; valid: {', '.join(names)}")
    for name in names:
        if name not in present:
            if not any(isinstance(rule, MayBeAbsent) for rule in _split(hints[name])[1]):
                raise ConfigError(f"{join(key, name)}: missing")
            continue
        _check_value(get(node, name, join(key, name)), hints[name], join(key, name))
    check_together = getattr(schema, "check_together", None)
    if check_together is not None:
        check_together(node, key)


def _pick(node: Any, schemas: list[type], key: str) -> type:
    """The schema of a union whose ``Literal`` tag field holds the node's tag value."""
    if len(schemas) == 1:
        return schemas[0]
    tag = next(
        name
        for name, hint in typing.get_type_hints(schemas[0], include_extras=True).items()
        if get_origin(_split(hint)[0]) is Literal
    )
    value = get(node, tag, join(key, tag)) if tag in list(node.keys()) else None
    valid: list[str] = []
    for schema in schemas:
        tags = get_args(_split(typing.get_type_hints(schema, include_extras=True)[tag])[0])
        if value in tags:
            return schema
        valid += tags
    raise ConfigError(f"{join(key, tag)}={show(value)}: unknown value; valid: {', '.join(valid)}")


def _problem(value: Any, base: Any, rules: Sequence[Any]) -> str | None:
    """What is wrong with a non-null leaf value (None: nothing)."""
    problem = _type_problem(value, base)
    if problem is None:
        checks = (rule.problem(value) for rule in rules if hasattr(rule, "problem"))
        problem = next((found for found in checks if found is not None), None)
    return None if problem is None else _explained(rules, problem)


def _type_problem(value: Any, base: Any) -> str | None:
    origin = get_origin(base)
    if base is Any:
        return None
    if _is_union(base):
        options = [_split(arg) for arg in get_args(base) if arg is not _NONE]
        problems = [_problem(value, *option) for option in options]
        if None in problems:
            return None
        # A value of the right type but out of its range: say so, not "must be an integer".
        typed = (
            p for p, (t, _) in zip(problems, options, strict=True) if not _type_problem(value, t)
        )
        return next(typed, f"must be {_describe(base)}")
    if origin is Literal:
        return OneOf(get_args(base)).problem(value)
    if origin is list or base is list:
        if not _is_sequence(value):
            return "must be a list"
        item = get_args(base)[0] if get_args(base) else Any
        for index, element in enumerate(value):
            problem = _problem(element, *_split(item))
            if problem is not None:
                return f"item {index} {problem}"
        return None
    if base is bool:
        return None if isinstance(value, bool) else "must be true or false"
    if base is int:
        return None if _is_int(value) else "must be an integer"
    if base is float:
        return None if _is_int(value) or isinstance(value, float) else "must be a number"
    if base is str:
        return None if isinstance(value, str) else "must be a string"
    raise TypeError(f"schema type {base!r} is not supported")


def _describe(base: Any) -> str:
    """A type in words, for ``must be ...``."""
    if _is_union(base):
        return " or ".join(_describe(_split(arg)[0]) for arg in get_args(base))
    words = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
    if base is _NONE:
        return "null"
    if get_origin(base) is Literal:
        return "one of " + ", ".join(str(arg) for arg in get_args(base))
    if get_origin(base) is list or base is list:
        return "a list"
    return words.get(base, "a group of keys")


def _explained(rules: Sequence[Any], problem: str) -> str:
    return next((rule.text for rule in rules if isinstance(rule, Explain)), problem)


def _split(hint: Any) -> tuple[Any, tuple[Any, ...]]:
    """A hint's type and its ``Annotated`` rules."""
    if get_origin(hint) is Annotated:
        base, *rules = get_args(hint)
        return base, tuple(rules)
    return hint, ()


def _schemas(base: Any) -> list[type]:
    """The dataclasses a hint stands for: itself, or the members of a union of them."""
    members = get_args(base) if _is_union(base) else (base,)
    return [m for m in members if isinstance(m, type) and dataclasses.is_dataclass(m)]


def _is_union(base: Any) -> bool:
    return get_origin(base) in (Union, types.UnionType)


def _allows_none(base: Any) -> bool:
    return base is Any or (_is_union(base) and _NONE in get_args(base))


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or (_is_sequence(value) and len(value) == 0)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_mapping(value: Any) -> bool:
    return isinstance(value, Mapping | DictConfig)


def _is_sequence(value: Any) -> bool:
    return isinstance(value, list | tuple | ListConfig)
