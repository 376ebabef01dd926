"""Request limits and security headers, as plain ASGI (nothing reaches a handler unchecked).

* a body larger than the limit is refused with 413, from its ``Content-Length`` or, when it
  comes chunked, as soon as the bytes received pass the limit;
* every response carries ``X-Content-Type-Options``, ``X-Frame-Options``,
  ``Referrer-Policy``, ``Cross-Origin-Opener-Policy`` and a Content-Security-Policy: an
  HTML page's header repeats the policy in its own ``<meta>`` (the report's: its inline
  style and script by hash, nothing else), anything else gets ``default-src 'none'``.
"""

from __future__ import annotations

import json
import re
from typing import Any

_META_CSP = re.compile(rb'<meta http-equiv="Content-Security-Policy" content="([^"]*)">')
NONE = b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


class Guard:
    def __init__(self, app: Any, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await _refuse(send, 413, f"the body is larger than {self.max_body} bytes")
            return
        # the body is read here, whole and bounded, so that a handler never sees a body past
        # the limit (and a chunked one is refused as soon as it passes it)
        chunks: list[bytes] = []
        received = 0
        if scope.get("method") in ("POST", "PUT", "PATCH"):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                received += len(message.get("body", b""))
                if received > self.max_body:
                    await _refuse(send, 413, f"the body is larger than {self.max_body} bytes")
                    return
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    break
        replayed = False

        async def limited() -> dict:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        start: dict | None = None

        async def headed(message: dict) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message  # the CSP needs the body's first bytes
                if not _is_html(message):
                    await send(_with_headers(message, NONE))
                    start = None
                return
            if start is not None and message["type"] == "http.response.body":
                m = _META_CSP.search(message.get("body", b"")[:4096])
                await send(_with_headers(start, m.group(1) if m else NONE))
                start = None
            await send(message)

        await self.app(scope, limited, headed)


def _is_html(message: dict) -> bool:
    for k, v in message.get("headers", []):
        if k.lower() == b"content-type":
            return v.startswith(b"text/html")
    return False


def _with_headers(message: dict, csp: bytes) -> dict:
    headers = [(k, v) for k, v in message.get("headers", [])
               if k.lower() != b"content-security-policy"]
    headers += [*HEADERS, (b"content-security-policy", csp)]
    return {**message, "headers": headers}


async def _refuse(send: Any, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send(_with_headers({"type": "http.response.start", "status": status,
                              "headers": [(b"content-type", b"application/json"),
                                          (b"content-length", str(len(body)).encode()),
                                          (b"connection", b"close")]}, NONE))
    await send({"type": "http.response.body", "body": body})


__all__ = ["Guard"]
