"""Hypothesis strategies for what an attacker, a broken client or a fault sends: bytes that are not
UTF-8, NUL bytes, empty bodies, JSON 10,000 levels deep, integers past 2^63, NaN, wrong types in
real payloads' fields, and the real payloads themselves with their values swapped."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

from tests.conftest import FIXTURES

HUGE = st.sampled_from([2**63, -(2**63) - 1, 10**30, 2**64 + 7, 99999999999999999999])
EDGE_TEXT = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "\x00 \x00",
        "\u202e",
        "\ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace"),
        "a" * 5000,
        "😀" * 300,
        "<script>alert(1)</script>",
        "'; DROP TABLE leads; --",
        "${jndi:x}",
        "\r\n\r\n",
    ]
)
SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    HUGE,
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    EDGE_TEXT,
)
JSON_VALUE = st.recursive(
    SCALAR,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


def _fixture_jsons(folder: str) -> list[tuple[str, Any]]:
    out = []
    for path in sorted(FIXTURES.joinpath(folder).glob("*.json")):
        out.append((path.name, json.loads(path.read_text(encoding="utf-8"))))
    return out


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            found += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _paths(v, (*prefix, i))
    return found


def _set(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    value = json.loads(json.dumps(value))
    cur = value
    for step in path[:-1]:
        cur = cur[step]
    cur[path[-1]] = new
    return value


@st.composite
def mutated(draw: st.DrawFn, folder: str) -> Any:
    """A real payload from tests/fixtures/<folder> with one to three values replaced."""
    _name, doc = draw(st.sampled_from(_fixture_jsons(folder)))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        if not paths:
            break
        doc = _set(doc, draw(st.sampled_from(paths)), draw(JSON_VALUE))
    return doc


def deep(n: int) -> bytes:
    return b"[" * n + b"]" * n


RAW_BODIES = st.one_of(
    st.binary(max_size=300),
    st.just(b""),
    st.just(b"\x00" * 8),
    st.just(b"\xff\xfe{}"),
    st.sampled_from([deep(10_000), b'{"a":' * 5000 + b"1" + b"}" * 5000, b"[" * 100_000]),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
    JSON_VALUE.map(lambda v: json.dumps(v).encode()),
    HUGE.map(lambda n: json.dumps({"update_id": n, "event_id": n, "lead_id": n}).encode()),
    st.sampled_from([b"NaN", b'{"a": Infinity}', b"[1e999]", b"1" * 5000]),
)


@st.composite
def slack_body(draw: st.DrawFn) -> tuple[bytes, str]:
    """A body and content type as /slack/events might get them: garbage, or a mutated real payload
    sent the way Slack sends its type (JSON events, form-encoded interactivity)."""
    kind = draw(st.sampled_from(["raw", "event", "interactive", "form"]))
    ctype = draw(st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/plain", ""]))
    if kind == "raw":
        return draw(RAW_BODIES), ctype
    doc = draw(mutated("slack"))
    if kind == "event":
        return json.dumps(doc).encode(), "application/json"
    if kind == "interactive":
        return ("payload=" + quote(json.dumps(doc), safe="")).encode(), "application/x-www-form-urlencoded"
    fields = draw(
        st.dictionaries(
            st.sampled_from(["command", "text", "user_id", "payload", "ssl_check", "token"]),
            st.one_of(st.text(max_size=30), EDGE_TEXT),
            max_size=4,
        )
    )
    return "&".join(
        f"{quote(k)}={quote(v)}" for k, v in fields.items()
    ).encode(), ctype or "application/x-www-form-urlencoded"
