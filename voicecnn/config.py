"""Frozen-dataclass configs: strict conversion from and to plain dicts and TOML.

Unknown keys and values of the wrong type are errors (nanoGPT's rule), so a typo in a config file
or an ``--set key=value`` override fails loudly instead of being ignored.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, TypeVar, get_args, get_origin, get_type_hints

from voicecnn.errors import ConfigError

__all__ = [
    "apply_overrides",
    "cfg_from_dict",
    "cfg_to_dict",
    "check_fields",
    "dumps_toml",
    "jsonable",
    "load_toml",
    "read_toml",
]

T = TypeVar("T")


def cfg_to_dict(cfg: Any) -> dict[str, Any]:
    """Return a dataclass config as nested plain dicts and lists (JSON/TOML friendly)."""
    if not dataclasses.is_dataclass(cfg) or isinstance(cfg, type):
        raise TypeError(f"expected a dataclass instance, got {type(cfg).__name__}")
    return typing.cast(dict[str, Any], _to_plain(cfg))


def _to_plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_to_plain(v) for v in value]
    return value


def cfg_from_dict(cls: type[T], data: dict[str, Any], *, where: str = "config") -> T:
    """Build dataclass ``cls`` from ``data``, recursively and strictly.

    Args:
        cls: A dataclass type whose fields have type annotations.
        data: Plain values, e.g. parsed from JSON or TOML. Missing keys take the field defaults.
        where: Name of the source, used in error messages.

    Returns:
        An instance of ``cls``.

    Raises:
        ConfigError: On unknown keys or values that do not match the annotated types.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a table of settings, got {type(data).__name__}")
    hints = get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(typing.cast(Any, cls)) if f.init}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}"
        )
    kwargs = {k: _convert(hints[k], v, f"{where}.{k}") for k, v in data.items()}
    try:
        return cls(**kwargs)
    except FieldError as e:  # "c.toml.train" + "batch_size must be..."
        raise ConfigError(f"{where}.{e}") from e
    except (TypeError, ValueError, ConfigError) as e:
        raise ConfigError(f"{where}: {e}") from e


def check_fields(cfg: Any, rules: dict[str, tuple[str, float, float]]) -> None:
    """Check a config's numeric fields (its ``__post_init__`` calls this, so the check travels
    with the class and every command shares it).

    Args:
        cfg: A dataclass instance.
        rules: Field name -> (kind, low, high): kind ``int`` (an integer in [low, high]),
            ``float`` (a finite number in [low, high]), ``float>`` (finite, in (low, high]) or
            ``time`` (in (low, high] and may be ``inf``: no limit).

    Raises:
        ConfigError: Naming the first field that fails, its value and its range.
    """
    for name, (kind, low, high) in rules.items():
        value = getattr(cfg, name)
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if kind == "int":
            ok = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
            span = f"an integer in [{int(low)}, {int(high)}]"
        elif kind == "float":
            ok = number and math.isfinite(value) and low <= value <= high
            span = f"a finite number in [{low:g}, {high:g}]"
        elif kind == "float>":
            ok = number and math.isfinite(value) and low < value <= high
            span = f"a positive number, at most {high:g}" if low == 0 else f"in ({low}, {high}]"
        else:  # "time": a positive budget, inf = none
            ok = number and (value == math.inf or (math.isfinite(value) and low < value <= high))
            span = f"a positive number (at most {high:g}) or inf (no limit)"
        if not ok:
            raise FieldError(f"{name} must be {span}, got {value!r}")


class FieldError(ConfigError):
    """A config field out of its range; :func:`cfg_from_dict` prefixes the field's path."""


def _convert(tp: Any, value: Any, where: str) -> Any:
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin is typing.Literal:
        if value not in get_args(tp):
            raise ConfigError(f"{where}: {value!r} is not one of {list(get_args(tp))}")
        return value
    if origin in (typing.Union, types.UnionType):
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(arg, value, where)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(errors[0] if errors else f"{where}: invalid value {value!r}")
    if dataclasses.is_dataclass(tp):
        if isinstance(value, typing.cast(type, tp)):
            return value
        return cfg_from_dict(typing.cast(type, tp), value, where=where)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where}: expected a list, got {type(value).__name__}")
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
        if len(args) != len(value):
            raise ConfigError(f"{where}: expected {len(args)} values, got {len(value)}")
        pairs = enumerate(zip(args, value, strict=True))
        return tuple(_convert(a, v, f"{where}[{i}]") for i, (a, v) in pairs)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table, got {type(value).__name__}")
        return dict(value)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    if isinstance(tp, type) and not isinstance(value, tp):
        raise ConfigError(f"{where}: expected {tp.__name__}, got {type(value).__name__}")
    return value


def _parse_value(text: str) -> Any:
    """Parse the right-hand side of ``key=value`` as a TOML value, else keep it as a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Return a copy of ``data`` with dotted ``key=value`` overrides applied.

    Values are parsed as TOML (``lr=1e-3``, ``stages=[32, 64]``, ``name="x"``); anything that
    is not valid TOML is taken as a string.

    Raises:
        ConfigError: If an override is not of the form ``key=value``.
    """
    out = _deep_copy(data)
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"override {item!r} is not of the form key=value")
        *parents, leaf = key.strip().split(".")
        node = out
        for p in parents:
            child = node.setdefault(p, {})
            if not isinstance(child, dict):
                raise ConfigError(f"override {item!r}: {p!r} is not a table")
            node = child
        node[leaf] = _parse_value(text.strip())
    return out


def _deep_copy(data: dict[str, Any]) -> dict[str, Any]:
    return {k: _deep_copy(v) if isinstance(v, dict) else v for k, v in data.items()}


def _read_toml(p: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The settings of TOML file ``p``, on top of those of its ``base`` file (recursively)."""
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ConfigError(f"cannot read '{p}': file not found") from e
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read '{p}': {e}") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"'{p}' is not valid TOML: {e}") from e
    base = data.pop("base", None)
    if base is None:
        return data
    if not isinstance(base, str) or not base:
        raise ConfigError(f"'{p}': base must be the path of another TOML config")
    base_path = (p.parent / Path(base).expanduser()).resolve()
    if base_path in seen or base_path == p.resolve():
        raise ConfigError(f"'{p}': base '{base}' leads back to itself")
    return _merge(_read_toml(base_path, (*seen, p.resolve())), data)


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``top``'s settings laid over it, table by table."""
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def load_toml(cls: type[T], path: str | Path, overrides: list[str] | None = None) -> T:
    """Read a TOML file into dataclass ``cls``, applying ``key=value`` overrides.

    A file may start from another: ``base = "other.toml"`` (relative to the file) loads that
    one first and lays this file's settings over it, table by table; bases may chain.

    Raises:
        ConfigError: If a file is missing or malformed, bases loop, or a key or type is wrong.
    """
    return cfg_from_dict(cls, read_toml(path, overrides), where=str(Path(path)))


def read_toml(path: str | os.PathLike[str], overrides: list[str] | None = None) -> dict[str, Any]:
    """The settings of a TOML file as plain dicts, over its ``base`` files, with overrides.

    What :func:`load_toml` reads before building the dataclass; for callers that pick the
    dataclass from the settings (a training run's ``task``).

    Raises:
        ConfigError: If a file is missing or malformed, bases loop, or an override is malformed.
    """
    return apply_overrides(_read_toml(Path(path)), overrides or [])


_TOML_SCALARS = (bool, int, float, str)


def _check_toml(value: Any, where: str) -> None:
    """Raise ``TypeError`` naming the key of the first value TOML cannot hold."""
    if isinstance(value, dict):
        for k, v in value.items():
            _check_toml(v, f"{where}.{k}" if where else str(k))
    elif isinstance(value, list | tuple):
        for v in value:
            _check_toml(v, where)
    elif not isinstance(value, _TOML_SCALARS):
        raise TypeError(f"{where}: cannot write {type(value).__name__} to TOML")


def dumps_toml(data: dict[str, Any]) -> str:
    """Write nested plain dicts (e.g. from :func:`cfg_to_dict`) as TOML that reads back equal.

    Written by ``tomli_w``: scalars first, then one ``[table]`` per nested dict; infinities and
    NaN as TOML's ``inf`` and ``nan`` (which JSON cannot hold); every string escaped as TOML
    requires (control characters included).

    Raises:
        TypeError: For a value TOML cannot hold (``None``, objects), naming its key.
    """
    import tomli_w

    _check_toml(data, "")
    return tomli_w.dumps(data)


def jsonable(value: Any) -> Any:
    """``value`` as strict JSON can hold it: infinities and NaN become ``None``, tuples lists,
    other objects their ``str``."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
