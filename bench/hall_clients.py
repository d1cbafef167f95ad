"""`bench hall`'s students: a light client that does what the light page's JavaScript does (request for
request, over plain HTTP/1.1), and a real Chromium page on the light page that reports what it shows."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time

TIMEOUT_S = 60


# --------------------------------------------------------------------------- a light client
class LightStudent:
    """One phone's page, as lesson.js behaves: page, assets, words, event stream; guesses by POST."""

    def __init__(self, host: str, port: int, code: str):
        self.host, self.port, self.code = host, port, code
        self.cookie = ""
        self.states: list[tuple[float, dict]] = []  # (when, pushed state)
        self.retry_s = 1.0
        self.reconnects = 0
        self.closed = False

    async def _request(
        self, method: str, path: str, body: bytes = b"", kind: str = ""
    ) -> tuple[int, dict, bytes]:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", "Connection: close"]
        if self.cookie:
            lines.append(f"Cookie: s2s_browser={self.cookie}")
        if kind:
            lines.append(f"Content-Type: {kind}")
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await writer.drain()
        status, headers = await _head(reader)
        content = await _body(reader, headers)
        writer.close()
        return status, headers, content

    async def open_page(self) -> None:
        status, headers, _ = await self._request("GET", f"/class/{self.code}?lang=en")
        found = re.search(r"s2s_browser=([0-9a-f]{32})", headers.get("set-cookie", ""))
        self.cookie = found[1] if found else secrets.token_hex(16)
        for path in ("/class/static/lesson.css", "/class/static/lesson.js", "/class/api/strings?lang=en"):
            await self._request("GET", path)

    async def follow(self) -> None:
        """The EventSource: open, read events; when the stream drops, wait `retry` and open it again."""
        while not self.closed:
            try:
                await self._stream()
            except (OSError, asyncio.IncompleteReadError, ValueError):
                pass
            if self.closed:
                return
            self.reconnects += 1
            await asyncio.sleep(self.retry_s)

    async def _stream(self) -> None:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        request = (f"GET /class/api/{self.code}/events HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                   f"Accept: text/event-stream\r\nCookie: s2s_browser={self.cookie}\r\n\r\n")  # fmt: skip
        writer.write(request.encode())
        await writer.drain()
        status, headers = await _head(reader)
        if status != 200:
            writer.close()
            raise ValueError(f"stream refused: {status}")
        buffer = b""
        try:
            async for chunk in _chunks(reader, headers):
                buffer += chunk
                while b"\n\n" in buffer:
                    block, buffer = buffer.split(b"\n\n", 1)
                    self._event(block.decode())
                if self.closed:
                    return
        finally:
            writer.close()

    def _event(self, block: str) -> None:
        name, data = "message", ""
        for line in block.split("\n"):
            if line.startswith("retry:"):
                self.retry_s = int(line[6:]) / 1000
            elif line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data += line[5:].strip()
        if name == "state":
            self.states.append((time.monotonic(), json.loads(data)))
        elif name == "gone":
            self.closed = True

    def seen(self) -> dict | None:
        return self.states[-1][1] if self.states else None

    async def guess(self, unit: int) -> tuple[float, float, int]:
        """(sent, answered, status) of one guess for the current step, as the page sends it."""
        view = self.seen()
        if "starts" not in view:
            raise ValueError(f"no question in {view}")
        body = {"step": view["step"], "token": view["starts"][unit % len(view["starts"])],
                "round": view["round"], "nonce": secrets.token_hex(16)}  # fmt: skip
        sent = time.monotonic()
        status, _, _ = await self._request("POST", f"/class/api/{self.code}/guess", json.dumps(body).encode(),
                                           "application/json")  # fmt: skip
        return sent, time.monotonic(), status


async def _head(reader) -> tuple[int, dict]:
    status_line = await reader.readline()
    if not status_line:
        raise ValueError("no answer")
    status = int(status_line.split()[1])
    headers = {}
    while True:
        line = (await reader.readline()).decode().strip()
        if not line:
            return status, headers
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = (headers.get(key.strip().lower(), "") + " " + value.strip()).strip()


async def _chunks(reader, headers: dict):
    if "chunked" not in headers.get("transfer-encoding", ""):
        while data := await reader.read(65536):
            yield data
        return
    while True:
        size = int((await reader.readline()).strip() or b"0", 16)
        if size == 0:
            return
        yield await reader.readexactly(size)
        await reader.readline()


async def _body(reader, headers: dict) -> bytes:
    return b"".join([chunk async for chunk in _chunks(reader, headers)])


# --------------------------------------------------------------------------- a real browser student
SEEN_JS = """() => { const note = () => window.pushed(document.getElementById('ask').textContent,
  document.getElementById('wait').hidden); new MutationObserver(note).observe(document.body,
  {subtree: true, childList: true, characterData: true, attributes: true}); }"""


class BrowserStudent:
    """A Chromium page on the light page; `steps` records when each step's question first showed."""

    def __init__(self, page, url: str):
        self.page, self.url = page, url
        self.steps: dict[int, float] = {}
        self.joined: float | None = None

    async def open(self) -> None:
        def pushed(ask: str, waiting: bool) -> None:
            now = time.monotonic()
            if self.joined is None and (waiting is False or ask):
                self.joined = now
            found = re.match(r"Step (\d+):", ask or "")
            if found:
                self.steps.setdefault(int(found[1]), now)

        await self.page.expose_function("pushed", pushed)
        await self.page.goto(self.url, wait_until="domcontentloaded")
        await self.page.evaluate(SEEN_JS)
        await self.page.wait_for_function("() => !document.getElementById('wait').hidden || "
                                          "!document.getElementById('step').hidden", timeout=TIMEOUT_S * 1000)  # fmt: skip
        self.joined = self.joined or time.monotonic()
