"""The push: one broadcaster per lesson in each server process, fanning every change out to the students'
event streams.

The broadcaster reads the lesson's version (one row) every `POLL_S`; when it changed, it reads the lesson
and builds the class's view once (`question.state`), encodes it once as a server-sent event, and wakes
every subscriber, who sends those same bytes. A waiting student costs an open connection and a sleeping
coroutine, nothing else. Polling the store rather than being told keeps the routes stateless over it: a
change made by the teacher's Streamlit page, or by another process on the same store, is seen the same way.

Each subscriber keeps only the latest view (every event is the whole state, with its version), so a slow
phone never piles up a backlog, and a late subscriber gets the current state at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import socket
import time
from collections.abc import AsyncIterator, Callable

POLL_S = 0.2  # how often each lesson's broadcaster reads its version row
PRESENCE_EVERY_S = 5.0  # how often a broadcaster writes its count of connected students, while it has any
KEEPALIVE_S = 15.0  # a comment line on an idle stream, so that a phone's network does not drop it
LINGER_S = 10.0  # a broadcaster with no subscriber left stops after this (a reload is back within it)
RETRY_MS = 1000  # what EventSource waits before it reconnects by itself

_LOG = logging.getLogger(__name__)
PROCESS = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"  # this process, in `presence`


def event(view: dict, name: str = "state") -> bytes:
    """One server-sent event: the view's version as its id, the view as JSON on one line."""
    data = json.dumps(view, ensure_ascii=False, separators=(",", ":"))
    ident = f"id: {view['version']}\n" if "version" in view else ""
    return f"retry: {RETRY_MS}\n{ident}event: {name}\ndata: {data}\n\n".encode()


class Channel:
    """One lesson in this process: its latest view (encoded once) and who is listening."""

    def __init__(self, code: str):
        self.code = code
        self.version: int | None = None
        self.message: bytes | None = None  # the latest view as an event, the same bytes for everyone
        self.serial = 0  # one more per message: a subscriber that sent `serial` has nothing to do
        self.subscribers: set[asyncio.Event] = set()
        self.task: asyncio.Task | None = None

    def publish(self, message: bytes) -> None:
        self.message, self.serial = message, self.serial + 1
        for wake in self.subscribers:
            wake.set()


class Hall:
    """Every lesson this process serves. `version(code)` reads one row (None: no such lesson), `view(code)`
    builds the class's view, `present(code, n)` records how many students are connected here; all three
    are plain blocking calls over the store, run off the event loop."""

    def __init__(
        self,
        version: Callable[[str], int | None],
        view: Callable[[str], dict],
        present: Callable[[str, int], None] | None = None,
        poll_s: float = POLL_S,
    ):
        self._version, self._view, self._present = version, view, present
        self.poll_s = poll_s
        self.channels: dict[str, Channel] = {}
        self.closing = asyncio.Event()

    def connected(self, code: str) -> int:
        channel = self.channels.get(code)
        return len(channel.subscribers) if channel else 0

    async def subscribe(self, code: str) -> AsyncIterator[bytes]:
        """The events for one student: the current view at once (when there is one), then each change
        once, and a keep-alive comment when nothing happens. Ends when the server closes."""
        channel = self.channels.get(code)
        if channel is None:
            channel = self.channels[code] = Channel(code)
        wake, sent = asyncio.Event(), 0
        channel.subscribers.add(wake)
        if channel.task is None or channel.task.done():
            channel.task = asyncio.create_task(self._broadcast(channel))
        if channel.message is not None:
            wake.set()
        try:
            while not self.closing.is_set():
                try:
                    await asyncio.wait_for(wake.wait(), KEEPALIVE_S)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                wake.clear()
                if self.closing.is_set():
                    break
                if channel.serial != sent and channel.message is not None:
                    sent = channel.serial
                    yield channel.message
        finally:
            channel.subscribers.discard(wake)

    async def _broadcast(self, channel: Channel) -> None:
        """Read the version row every `poll_s`; on a change, build and publish the view once."""
        written, written_at, alone_since, version = None, 0.0, None, None
        while not self.closing.is_set():
            try:
                version = await asyncio.to_thread(self._version, channel.code)
                if version is None:
                    if channel.version != -1:
                        channel.version = -1
                        channel.publish(event({"code": channel.code, "gone": True}, "gone"))
                elif version != channel.version:
                    view = await asyncio.to_thread(self._view, channel.code)
                    channel.version = version
                    channel.publish(event(view))
                count, now = len(channel.subscribers), time.monotonic()
                if self._present and (count != written or (count and now - written_at > PRESENCE_EVERY_S)):
                    await asyncio.to_thread(self._present, channel.code, count)
                    written, written_at = count, now
            except Exception:  # noqa: BLE001 - a store or model error: logged once, tried again on the next change
                if version is not None and channel.version != version:
                    _LOG.exception(
                        "lesson %s: the broadcaster could not build version %s", channel.code, version
                    )
                    channel.version = version
            if channel.subscribers:
                alone_since = None
            elif alone_since is None:
                alone_since = time.monotonic()
            elif time.monotonic() - alone_since > LINGER_S:
                break
            try:
                await asyncio.wait_for(self.closing.wait(), self.poll_s)
            except TimeoutError:
                pass
        if not channel.subscribers:
            self.channels.pop(channel.code, None)

    def close(self) -> None:
        """Ends every stream (a server that stops): each page's EventSource reconnects by itself."""
        self.closing.set()
        for channel in self.channels.values():
            for wake in channel.subscribers:
                wake.set()
