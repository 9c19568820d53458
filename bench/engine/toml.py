"""A tiny TOML writer: the venv has tomllib to read but nothing to write, and the config is plain data."""

from __future__ import annotations

import json
import re
from typing import Any

BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(k: str) -> str:
    return k if BARE_KEY.match(k) else json.dumps(k)


def _value(v: Any) -> str:
    """Inline value; JSON string escapes are valid TOML basic-string escapes."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def _is_table_array(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def dumps(data: dict[str, Any], prefix: str = "") -> str:
    """Scalars first, then sub-tables and arrays of tables, so the output reads back identically."""
    lines: list[str] = []
    nested: list[tuple[str, Any]] = []
    for k, v in data.items():
        if isinstance(v, dict) or _is_table_array(v):
            nested.append((k, v))
        else:
            lines.append(f"{_key(k)} = {_value(v)}")
    out = "\n".join(lines) + ("\n" if lines else "")
    for k, v in nested:
        name = f"{prefix}.{_key(k)}" if prefix else _key(k)
        if isinstance(v, dict):
            out += f"\n[{name}]\n" + dumps(v, name)
        else:
            for item in v:
                out += f"\n[[{name}]]\n" + dumps(item, name)
    return out
