"""One circuit breaker per remote endpoint, so a server that is down costs one fast failure, not
a timeout per message."""
from __future__ import annotations

import threading
import time


class CircuitBreaker:
    """Open after `threshold` consecutive failures; let one trial call through after `cooldown_s`."""

    def __init__(self, threshold: int, cooldown_s: float):
        self.threshold, self.cooldown_s = threshold, cooldown_s
        self._failures = 0
        self._opened_at: float | None = None
        self._lock = threading.Lock()

    def would_allow(self) -> bool:
        """What allows() would answer, without spending the half-open trial (for choosing)."""
        with self._lock:
            return self._opened_at is None or time.monotonic() - self._opened_at >= self.cooldown_s

    def allows(self) -> bool:
        with self._lock:
            if self._opened_at is None:
                return True
            if time.monotonic() - self._opened_at >= self.cooldown_s:
                self._opened_at = time.monotonic()  # half-open: one trial, the next wait a cooldown again
                return True
            return False

    def record(self, success: bool) -> None:
        with self._lock:
            if success:
                self._failures, self._opened_at = 0, None
            else:
                self._failures += 1
                if self._failures >= self.threshold:
                    self._opened_at = time.monotonic()

    @property
    def is_open(self) -> bool:
        return self._opened_at is not None
