"""Past one process: two servers (`streamlit run serve.py`) on one lesson store serve one lesson. The
student routes hold no state of their own, so a browser may reach either process (no sticky sessions):
a guess sent through one is that browser's guess on the other, a change of the lesson reaches the streams
on both, and the teacher's count of connected students adds both up."""

from __future__ import annotations

import http.client
import json
import os
import queue
import threading
import time

import pytest

from bench import local_app
from classroom.store import LessonStore

SENTENCE, MODEL = "the user opens the file now .", "tiny-additive"
STUDENT = "0123456789abcdef" * 2
START_S = 120  # two servers starting at once on a busy 2-core machine


class Stream:
    """A student's event stream on one server, read in a thread: (event name, data) into a queue."""

    def __init__(self, port: int, code: str):
        self.events: queue.Queue = queue.Queue()
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.conn.request("GET", f"/class/api/{code}/events", headers={"Cookie": f"s2s_browser={STUDENT}"})
        self.response = self.conn.getresponse()
        assert self.response.status == 200, self.response.read()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        name = None
        try:
            for raw in iter(self.response.readline, b""):
                line = raw.decode().rstrip("\n")
                if line.startswith("event:"):
                    name = line[6:].strip()
                elif line.startswith("data:"):
                    self.events.put((name, json.loads(line[5:])))
        except (OSError, ValueError, AttributeError):  # closed by the test: the stream is over
            pass

    def next(self, name: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            got, data = self.events.get(timeout=max(0.1, deadline - time.monotonic()))
            if got == name:
                return data

    def close(self) -> None:
        self.conn.close()


def post_guess(port: int, code: str, step: int, token: int, nonce: str) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = json.dumps({"step": step, "token": token, "round": 0, "nonce": nonce})
    conn.request("POST", f"/class/api/{code}/guess", body=body,
                 headers={"Content-Type": "application/json", "Cookie": f"s2s_browser={STUDENT}"})  # fmt: skip
    response = conn.getresponse()
    answer = (response.status, json.loads(response.read()))
    conn.close()
    return answer


@pytest.fixture
def two_servers(checkpoints_dir, tmp_path):
    path = tmp_path / "lessons.sqlite3"
    env = {**os.environ, "SEQ2SEQ_CHECKPOINTS": str(checkpoints_dir), "SEQ2SEQ_LESSONS": str(path),
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}  # fmt: skip
    ports = [local_app.free_port(), local_app.free_port()]
    logs = [open(tmp_path / f"server{k}.log", "w") for k in range(2)]  # noqa: SIM115 - closed below
    procs = [local_app.start(port, log, env) for port, log in zip(ports, logs)]
    try:
        deadline = time.monotonic() + START_S
        while not all(local_app.healthy(f"http://127.0.0.1:{port}") for port in ports):
            assert time.monotonic() < deadline and all(p.poll() is None for p in procs), [
                (tmp_path / f"server{k}.log").read_text()[-2000:] for k in range(2)
            ]
            time.sleep(0.5)
        yield LessonStore(path), ports
    finally:
        for proc in procs:
            local_app.stop(proc)
        for log in logs:
            log.close()


def test_two_processes_on_one_store_serve_one_lesson(two_servers):
    store, (first, second) = two_servers
    code, teacher = store.open()
    store.show(code, teacher, SENTENCE, MODEL, step=1, beam=1, source_tokens=8, steps=1, guess_first=True)

    on_second = Stream(second, code)
    assert on_second.next("mine")["guesses"] == {}
    view = on_second.next("state")
    assert view["step"] == 1 and not view["revealed"] and "weights" not in view

    # the guess goes through the first process: the store has it, whichever process answered
    assert post_guess(first, code, 1, view["starts"][1], "a" * 20)[0] == 200
    assert post_guess(second, code, 1, view["starts"][1], "a" * 20) == (
        409,
        {"error": "replayed", "message": "this request was sent before"},
    )  # fmt: skip  (the same request again, through the other process: refused)
    assert store.tally(code, SENTENCE, MODEL, 1) == {view["starts"][1]: 1}

    # the same browser's stream on the second process knows it (a reload that lands elsewhere)
    again = Stream(second, code)
    assert again.next("mine")["guesses"] == {"1": view["starts"][1]}
    again.close()

    # the teacher's Reveal (written to the store by the Streamlit page) reaches the streams on both
    on_first = Stream(first, code)
    on_first.next("state")
    store.reveal(code, teacher, SENTENCE, MODEL, 1)
    for stream in (on_first, on_second):
        revealed = stream.next("state")
        assert revealed["revealed"] and len(revealed["weights"]) == len(view["labels"])

    # the teacher's count of connected students adds up both processes
    deadline = time.monotonic() + 30
    while store.connected(code) != 2:
        assert time.monotonic() < deadline, store.connected(code)
        time.sleep(0.2)
    on_first.close()
    on_second.close()
