"""A single worker thread that owns one engine, and the bounded line of requests before it.

An engine (the llama.cpp context, the Whisper model) computes one request at a time. Requests
wait here in arrival order; when the line is full a new one is refused at once (HTTP 503 with
Retry-After) instead of piling up until every client times out. Each request carries a deadline
that also covers its waiting time. The LLM and speech each have their own queue and worker.
"""
from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections import deque
from typing import Callable

log = logging.getLogger(__name__)


class QueueFull(Exception):
    def __init__(self, retry_after_s: int, what: str = "the model"):
        super().__init__(f"{what} is busy; retry in {retry_after_s} s")
        self.retry_after_s = retry_after_s


class JobStopped(RuntimeError):
    """The job ran out of time or its client went away; `reason` says which."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Job:
    """One request's trip through the worker; the HTTP thread reads its events."""

    def __init__(self, request: object, timeout_s: float):
        self.request = request
        self.enqueued_at = time.monotonic()
        self.started_at: float | None = None
        self.deadline = self.enqueued_at + timeout_s
        self.events: queue.SimpleQueue = queue.SimpleQueue()  # ("text", str) | ("done", result) | ("error", exc)
        self.cancelled = threading.Event()

    def check(self) -> None:
        if self.cancelled.is_set():
            raise JobStopped("cancelled")
        if time.monotonic() > self.deadline:
            raise JobStopped("timeout")

    def cancel(self) -> None:
        self.cancelled.set()

    def next_event(self, grace_s: float = 5.0) -> tuple[str, object]:
        """The worker's next event; when none comes by the deadline (plus `grace_s` for the worker
        to notice it), the job is cancelled and the event is ("error", JobStopped("timeout"))."""
        try:
            return self.events.get(timeout=max(0.0, self.deadline - time.monotonic()) + grace_s)
        except queue.Empty:
            self.cancel()
            return "error", JobStopped("timeout")

    @property
    def queued_ms(self) -> float:
        return ((self.started_at or self.enqueued_at) - self.enqueued_at) * 1000


class RequestQueue:
    """`run(job)` computes a job in the worker thread (calling job.check() as it goes) and returns
    its result; `what` names the busy engine in the 503's message."""

    def __init__(self, run: Callable[[Job], object], size: int, name: str = "model-worker",
                 what: str = "the model"):
        self._run = run
        self._what = what
        self._waiting: queue.Queue[Job | None] = queue.Queue(maxsize=size)
        self._busy = False
        self._recent_seconds: deque[float] = deque([10.0], maxlen=20)
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._current: Job | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self, wait_s: float = 0.0) -> None:
        """No more work; the job being computed is cancelled (it stops at its next check). With
        `wait_s`, wait for the worker to leave the engine: a process that exits while a generation
        runs in another thread can crash in llama.cpp's teardown (seen as SIGSEGV)."""
        self._waiting.put(None)
        if self._current is not None:
            self._current.cancel()
        if wait_s and self._thread.is_alive():
            self._thread.join(timeout=wait_s)

    def depth(self) -> int:
        """Requests waiting plus the one being computed."""
        return self._waiting.qsize() + (1 if self._busy else 0)

    def submit(self, request: object, timeout_s: float) -> Job:
        job = Job(request, timeout_s)
        try:
            self._waiting.put_nowait(job)
        except queue.Full:
            raise QueueFull(self.retry_after_estimate(), self._what) from None
        return job

    def retry_after_estimate(self) -> int:
        average = sum(self._recent_seconds) / len(self._recent_seconds)
        return max(1, math.ceil(average * max(1, self.depth()) / 2))

    def _work(self) -> None:
        while True:
            job = self._waiting.get()
            if job is None:
                return
            self._busy, self._current = True, job
            started = job.started_at = time.monotonic()
            try:
                job.check()  # it may have timed out or been abandoned while waiting
                job.events.put(("done", self._run(job)))
            except Exception as problem:  # handed to the HTTP thread, which turns it into JSON
                job.events.put(("error", problem))
            finally:
                self._recent_seconds.append(time.monotonic() - started)
                self._busy, self._current = False, None
