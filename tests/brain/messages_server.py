"""A local server speaking the Anthropic Messages API (POST /v1/messages) for the SDK's base_url.

Responses are shaped like the real API's: a message object with content blocks (text or
tool_use), stop_reason, usage (with the prompt-caching counters), and error bodies of the form
{"type": "error", "error": {"type": ..., "message": ...}} with the matching status codes.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ERROR_TYPES = {
    400: "invalid_request_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


def message(
    content: list[dict[str, Any]], stop_reason: str = "end_turn", model: str = "claude-sonnet-4-5"
) -> dict:
    return {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {
            "input_tokens": 412,
            "output_tokens": 96,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 1830,
        },
    }


def tool_use(name: str, data: dict[str, Any]) -> dict:
    return message(
        [
            {"type": "text", "text": "I'll record that."},
            {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": name, "input": data},
        ],
        stop_reason="tool_use",
    )


def text(body: str) -> dict:
    return message([{"type": "text", "text": body}])


@dataclass
class Reply:
    status: int = 200
    body: dict[str, Any] | None = None
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    gate: threading.Event | None = None  # held until the test sets it: "the brain is busy" without a clock


def error(status: int, msg: str = "boom") -> Reply:
    body = {"type": "error", "error": {"type": ERROR_TYPES.get(status, "api_error"), "message": msg}}
    return Reply(status, body, headers={"retry-after-ms": "5", "retry-after": "0"})


class MessagesServer:
    """Scripted replies in order (the last one repeats); every request body is recorded."""

    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.arrived = threading.Event()  # set once a request has reached the server
        # Answers computed from the request instead of scripted (an obedient model: issue 18)
        self.respond: Callable[[dict[str, Any]], Reply] | None = None
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                raw = self.rfile.read(length)
                if self.path.split("?")[0] != "/v1/messages":
                    self.send_response(404)
                    self.end_headers()
                    return
                server.requests.append(json.loads(raw))
                server.headers.append({k.lower(): v for k, v in self.headers.items()})
                index = min(len(server.requests) - 1, len(server.replies) - 1)
                reply = server.replies[index] if server.replies else Reply(200, text("ok"))
                if server.respond is not None:
                    reply = server.respond(server.requests[-1])
                server.arrived.set()
                if reply.gate is not None:
                    reply.gate.wait(timeout=60)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                data = json.dumps(reply.body or {}).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("request-id", f"req_{len(server.requests)}")
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def script(self, *replies: Reply | dict[str, Any]) -> None:
        self.replies = [r if isinstance(r, Reply) else Reply(200, r) for r in replies]

    def __enter__(self) -> MessagesServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def serve() -> Iterator[MessagesServer]:
    with MessagesServer() as server:
        yield server
