"""A per-client rate limit for the public consent endpoint (a fixed one-minute window).

Kept in process memory: each worker process counts its own callers, which is enough to stop a
flood from one address reaching the database. Addresses are held only while their window is
open and never written anywhere. A scaled-out service (several web processes, Redis) counts in
Redis instead, all processes together (:mod:`privacyops.shared_counts`: keyed hashes of the
addresses, never the addresses).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from privacyops.errors import RateLimited
from privacyops.shared_counts import SharedCounts

__all__ = ["RateLimiter"]


class RateLimiter:
    """At most ``limit`` calls per ``window`` seconds per key.

    Args:
        limit: calls allowed per window.
        window: window length in seconds.
        clock: monotonic time source (tests pass a fake one).
        shared: count in Redis, with every process of the service.
        max_keys: when more keys are tracked, expired windows are dropped.
    """

    def __init__(
        self,
        limit: int,
        window: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
        shared: SharedCounts | None = None,
    ) -> None:
        self.shared = shared
        self.limit = limit
        self.window = window
        self._clock = clock
        self._max_keys = max_keys
        self._counts: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RateLimiter(limit={self.limit}, window={self.window})"

    def hit(self, key: str) -> None:
        """Count one call of ``key``.

        Raises:
            RateLimited: over the limit; ``retry_after`` is the seconds left in the window.
        """
        if self.shared is not None:
            counted = self.shared.hit(f"consent:{key}", self.window)
            if counted is not None:
                total, left = counted
                if total > self.limit:
                    raise RateLimited(retry_after=max(1, int(left) + 1))
                return
        now = self._clock()
        with self._lock:
            start, count = self._counts.get(key, (now, 0))
            if now - start >= self.window:
                start, count = now, 0
            if count >= self.limit:
                retry = max(1, int(self.window - (now - start)) + 1)
                raise RateLimited(retry_after=retry)
            self._counts[key] = (start, count + 1)
            if len(self._counts) > self._max_keys:
                self._counts = {k: v for k, v in self._counts.items() if now - v[0] < self.window}
