"""JSON from strangers, parsed with limits checked first: valid UTF-8, nesting depth, number size.

`json.loads` on a 10,000-deep array raises RecursionError, on a 100,000-digit integer spends
seconds, and takes `NaN`; every caller at the HTTP edge uses `loads` here instead and gets a
BadInputError (400) that says which limit was hit."""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from typing import Any

from sheepdog import defaults
from sheepdog.errors import BadInputError

_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def utf8(raw: bytes, what: str = "body") -> str:
    """Strict UTF-8 decoding; the error names the first bad byte's offset."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInputError(f"{what} is not valid UTF-8 (bad byte at offset {exc.start})") from exc


def depth(raw: bytes) -> int:
    """Deepest nesting of objects/arrays, strings ignored; linear time, no recursion."""
    marks = _BRACKETS.findall(_STRINGS.sub(b"", raw))
    return max(accumulate(_STEP[m[0]] for m in marks), default=0)


def _int(literal: str) -> int:
    if len(literal) > defaults.MAX_JSON_NUMBER_CHARS:
        raise BadInputError(f"number too long in JSON ({len(literal)} digits)")
    value = int(literal)
    if abs(value) > defaults.MAX_JSON_INT:
        raise BadInputError(f"integer out of range in JSON: {literal[:24]}… (at most 2^63-1)")
    return value


def _float(literal: str) -> float:
    if len(literal) > defaults.MAX_JSON_NUMBER_CHARS:
        raise BadInputError(f"number too long in JSON ({len(literal)} characters)")
    value = float(literal)
    if not math.isfinite(value):
        raise BadInputError(f"number out of range in JSON: {literal[:24]}")
    return value


def _constant(name: str) -> Any:
    raise BadInputError(f"{name} is not valid JSON")


def loads(raw: bytes | str, what: str = "body") -> Any:
    """Parse JSON after checking encoding and depth; BadInputError (400) for anything malformed."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    text = raw if isinstance(raw, str) else utf8(raw, what)
    if not text.strip():
        raise BadInputError(f"empty {what}: a JSON document is expected")
    deepest = depth(data)
    if deepest > defaults.MAX_JSON_DEPTH:
        raise BadInputError(
            f"JSON nested {deepest} levels deep; at most {defaults.MAX_JSON_DEPTH} are accepted"
        )
    try:
        return json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise BadInputError(f"malformed JSON in {what}: {exc}") from exc
    except RecursionError as exc:  # unreachable past the depth check; never a 500 regardless
        raise BadInputError(f"JSON in {what} nested too deeply") from exc
