"""The one rate limiter: login attempts, public form posts, consent writes, marketing opt-ins.

:class:`RateLimiter` allows at most ``limit`` calls per ``window`` seconds for each key (a
client address plus what it calls).

- **In process memory** (the embedded default, one process): a sliding window, the exact times
  of the calls still inside it. Addresses are held only while their window is open and never
  written anywhere.
- **Shared in Redis** (a scaled-out service, ``PRIVACYOPS_CELERY_BROKER_URL`` pointing at
  Redis): several web processes would each count their own callers, so a client could make
  ``processes x limit`` attempts; :class:`SharedCounts` counts for all of them together in a
  fixed window: one ``INCR`` round trip a check (the first of a window also sets ``EXPIRE``;
  a process that dies between the two leaves one count with no expiry, never read again since
  the window is in its name).

Keys are client addresses, which are personal data: Redis gets a keyed hash of each (BLAKE2b),
whose key is random, shared through Redis, and replaced with every window (two minutes at most),
so a count can neither be read back as an address nor linked across windows. When Redis cannot
be reached the limiter counts in its process again (logged once a minute) rather than refuse
everyone or let everything through.

Why not the ``limits`` library (its memory and Redis storages): ``python -m bench ratelimit``
measures it next to this module, and it is slower in both (memory: its storage costs several
times this one; Redis: its atomic Lua ``INCR``/``EXPIRE`` script costs more than a plain
``INCR``). Figures: docs/architecture-pieces.md.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from privacyops.errors import ConfigurationError, RateLimited

__all__ = ["RateLimiter", "SharedCounts", "shared_counts"]

log = logging.getLogger(__name__)

_PREFIX = "privacyops:rate"
#: When more keys are tracked in memory, those with no call left in their window are dropped.
MAX_KEYS = 100_000


class SharedCounts:
    """Fixed-window counts in Redis, shared by every process of the service.

    Args:
        url: the Redis (``redis://`` or ``rediss://``).
        clock: wall-clock seconds (every process must agree on the window; tests pass a fake).
        timeout: seconds to wait for Redis before counting locally.
    """

    def __init__(
        self, url: str, *, clock: Callable[[], float] = time.time, timeout: float = 0.5
    ) -> None:
        import redis

        self._redis: Any = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self._clock = clock
        self._salts: dict[int, bytes] = {}
        self._lock = threading.Lock()
        self._warned = 0.0

    def __repr__(self) -> str:
        return f"SharedCounts({self._redis!r})"

    def hit(self, key: str, limit: int, window: float) -> tuple[bool, float] | None:
        """Count one call of ``key``: whether it is within ``limit`` in the current window of
        ``window`` seconds and the seconds left in that window; ``None`` when Redis is
        unreachable (the caller counts locally)."""
        import redis

        now = self._clock()
        slot = int(now // window)
        try:
            salt = self._salt(slot, window)
            # the window is in the name, so a count is never read in the next one
            name = f"{_PREFIX}:{hashlib.blake2b(key.encode(), key=salt).hexdigest()}:{slot}"
            count = int(self._redis.incr(name))
            if count == 1:  # the window's first call sets when the count goes away
                self._redis.expire(name, int(window) + 1)
        except redis.RedisError as exc:
            if now - self._warned > 60:
                self._warned = now
                log.warning("rate limits counted per process: Redis unreachable (%s)", type(exc))
            return None
        return count <= limit, (slot + 1) * window - now

    def _salt(self, slot: int, window: float) -> bytes:
        with self._lock:
            salt = self._salts.get(slot)
        if salt is not None:
            return salt
        name = f"{_PREFIX}-salt:{int(window)}:{slot}"
        # the first process to need this window's key sets it; the others read the same one
        self._redis.set(name, secrets.token_bytes(32), nx=True, ex=int(window) * 2 + 1)
        value = self._redis.get(name)
        salt = bytes(value) if value is not None else secrets.token_bytes(32)
        with self._lock:
            self._salts = {s: v for s, v in self._salts.items() if s >= slot - 1}
            self._salts[slot] = salt
        return salt


def shared_counts(url: str | None) -> SharedCounts | None:
    """Counts in the Redis at ``url`` (a ``redis://`` or ``rediss://`` URL), else ``None``."""
    if not url or not url.startswith(("redis://", "rediss://")):
        return None
    try:
        import redis  # noqa: F401  # the scale extra brings it
    except ImportError as exc:  # pragma: no cover
        raise ConfigurationError(
            "PRIVACYOPS_CELERY_BROKER_URL points at Redis but the redis package is missing: "
            "pip install 'privacyops[scale]'."
        ) from exc
    return SharedCounts(url)


class RateLimiter:
    """At most ``limit`` calls per ``window`` seconds per key: in memory, or with ``shared``
    in Redis (counted locally again while Redis is down).

    Args:
        shared: count in Redis, with every process of the service.
        clock: monotonic seconds for the in-memory count (tests pass a fake one).
    """

    def __init__(
        self,
        shared: SharedCounts | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.shared = shared
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RateLimiter(shared={self.shared!r})"

    def hit(self, key: str, limit: int, window: float = 60.0) -> int | None:
        """Count one call of ``key``; the seconds to wait when over ``limit``, else ``None``."""
        if self.shared is not None:
            counted = self.shared.hit(key, limit, window)
            if counted is not None:
                allowed, left = counted
                return None if allowed else max(1, int(left) + 1)
        now = self._clock()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - window:
                hits.popleft()
            if len(hits) >= limit:
                return max(1, int(hits[0] + window - now) + 1)
            hits.append(now)
            if len(self._hits) > MAX_KEYS:  # bound memory under a flood of addresses
                self._hits = {k: v for k, v in self._hits.items() if v and v[-1] > now - window}
            return None

    def check(self, key: str, limit: int, window: float = 60.0) -> None:
        """:meth:`hit`, raising when over the limit.

        Raises:
            RateLimited: over the limit; ``retry_after`` is the seconds to wait.
        """
        wait = self.hit(key, limit, window)
        if wait is not None:
            raise RateLimited(retry_after=wait)

    def reset(self) -> None:
        """Forget every count kept in memory."""
        with self._lock:
            self._hits.clear()
