"""Configuration: one frozen dataclass per agent, YAML presets, validation with clear errors.

An agent's config is a frozen dataclass deriving from :class:`AgentConfig`. Each field is
declared with :func:`param`, which records its help text and allowed range, so the same
declaration drives validation, ``--set key=value`` parsing and error messages::

    @dataclass(frozen=True)
    class MyConfig(AgentConfig):
        discount: float = param(0.99, "discount rate gamma", low=0.0, high=1.0)
        hidden_sizes: tuple[int, ...] = param((64, 64), "units per hidden layer")

Errors name the key, the value, the allowed range and, for misspelt keys, the closest key.
Presets are read by :mod:`gymkit.preset_files` (their names are importable from here too).
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from typing import Any

import yaml

from gymkit.errors import ConfigError, did_you_mean
from gymkit.preset_files import (  # noqa: F401  (re-exported)
    PRESET_DIR,
    Preset,
    _read_yaml,
    _target,
    list_presets,
    load_preset,
)


def param(
    default: Any,
    help: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    choices: tuple[Any, ...] | None = None,
) -> Any:
    """Declare a config field with its help text and allowed values.

    Args:
        default: the default value (use tuples, not lists, so configs stay hashable).
        help: one line saying what the field means.
        low, high: inclusive bounds unless ``low_open``/``high_open``.
        choices: the allowed values, for string options.
    """
    meta = {"help": help, "low": low, "high": high, "low_open": low_open,
            "high_open": high_open, "choices": choices}
    return field(default=default, metadata=meta)


def _range_text(meta: dict) -> str:
    lo, hi = meta["low"], meta["high"]
    left = "(" if meta["low_open"] else "["
    right = ")" if meta["high_open"] else "]"
    return f"{left}{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}{right}"


def _coerce(key: str, value: Any, tp: Any) -> Any:
    """Convert ``value`` (from YAML or ``--set``) to the annotated type ``tp``."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(key, value, arg)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{key}: cannot use {value!r}")
    if origin is tuple:
        if isinstance(value, str):
            value = [v for v in value.replace(",", " ").split()]
        if not isinstance(value, list | tuple):
            value = [value]
        inner = args[0] if args else Any
        return tuple(_coerce(key, v, inner) for v in value)
    if tp is Any:
        return value
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
            return value.lower() in ("true", "yes", "1")
        raise ConfigError(f"{key}={value!r} is not a boolean: use true or false")
    if tp is int:
        if isinstance(value, bool):
            raise ConfigError(f"{key}={value!r} is not an integer: give a whole number")
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, int):
            return value
        if isinstance(value, str):
            try:
                return int(float(value)) if float(value).is_integer() else int(value)
            except ValueError:
                pass
        raise ConfigError(f"{key}={value!r} is not an integer: give a whole number")
    if tp is float:
        if isinstance(value, bool):
            raise ConfigError(f"{key}={value!r} is not a number: give a number")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key}={value!r} is not a number: give a number") from None
    if tp is str:
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise ConfigError(f"{key}={value!r} is not a string")
    if tp is dict or typing.get_origin(tp) is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key}={value!r} is not a mapping: give key: value pairs")
        return value
    return value


@dataclass(frozen=True)
class AgentConfig:
    """Base of every agent's config. Subclasses add fields with :func:`param`."""

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = _coerce(f.name, getattr(self, f.name), hints[f.name])
            object.__setattr__(self, f.name, value)
            self._check_field(f, value)
        self.check()

    def _check_field(self, f: dataclasses.Field, value: Any) -> None:
        meta = f.metadata
        if not meta:
            return
        if meta.get("choices") is not None and value not in meta["choices"]:
            shown = [str(c).lower() if isinstance(c, bool) else str(c) for c in meta["choices"]]  # as YAML spells them
            raise ConfigError(
                f"{f.name}={value!r} is not allowed{did_you_mean(str(value), shown)}: "
                f"choose one of {', '.join(shown)}"
            )
        values = value if isinstance(value, tuple) else (value,)
        for v in values:
            if not isinstance(v, int | float) or isinstance(v, bool):
                continue
            lo, hi = meta.get("low"), meta.get("high")
            bad = (isinstance(v, float) and math.isnan(v))
            if lo is not None:
                bad |= v <= lo if meta["low_open"] else v < lo
            if hi is not None:
                bad |= v >= hi if meta["high_open"] else v > hi
            if bad:
                raise ConfigError(
                    f"{f.name}={v!r} is out of range: allowed range is {_range_text(meta)}"
                )

    def check(self) -> None:
        """Cross-field checks; subclasses override and raise :class:`ConfigError`."""

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> AgentConfig:
        """Build from a mapping, rejecting unknown keys with the closest known one."""
        names = cls.field_names()
        for key in values:
            if key not in names:
                hint = did_you_mean(key, names)
                raise ConfigError(
                    f"unknown config key {key!r} for {cls.__name__}{hint}; "
                    f"valid keys: {', '.join(names) or '(none)'}"
                )
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """Plain YAML-friendly values (tuples become lists)."""
        out = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            out[f.name] = list(v) if isinstance(v, tuple) else v
        return out

    def replace(self, **changes: Any) -> AgentConfig:
        merged = {**self.to_dict(), **changes}
        return type(self).from_dict(merged)

    @classmethod
    def describe(cls) -> list[tuple[str, Any, str]]:
        """(name, default, help) for every field: what ``gymkit list --agent`` shows."""
        rows = []
        for f in dataclasses.fields(cls):
            default = f.default if f.default is not dataclasses.MISSING else None
            rows.append((f.name, default, f.metadata.get("help", "")))
        return rows


def parse_set(items: list[str] | None) -> dict[str, Any]:
    """Parse ``--set key=value`` items; values are read as YAML scalars or lists."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set {item!r} is not key=value: write it as --set key=value")
        try:
            out[key] = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            out[key] = raw
    return out


def parse_yaml_option(flag: str, text: str | None, expect: type) -> Any:
    """``--wrappers`` / ``--env-kwargs`` text as YAML (a bare wrapper name is a list of one)."""
    if text is None:
        return None
    example = "'[velocity-mask]' or '[{frame-stack: {stack_size: 4}}]'" if expect is list else "'{frameskip: 1}'"
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        raise ConfigError(f"{flag} {text!r} is not valid YAML: write e.g. {example}") from None
    if expect is list and isinstance(value, str | dict):
        value = [value]
    if not isinstance(value, expect):
        raise ConfigError(f"{flag} {text!r} must be a YAML {expect.__name__}: write e.g. {example}")
    return value
