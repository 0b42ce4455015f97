"""Rate-limit counts shared by every process of a scaled-out service, in Redis.

The embedded default is one process, and its limiters count in memory. Behind several web
processes each would count its own callers, so a client could make ``processes x limit``
login attempts, consent writes or form posts. With ``PRIVACYOPS_CELERY_BROKER_URL`` pointing
at Redis (a scaled-out deployment has one), the limiters count there instead: one fixed window
per key: one ``INCR`` round trip (the first call of a window also sets ``EXPIRE``).

Keys are client addresses, which are personal data: Redis gets a keyed hash of each, whose key
is random, shared through Redis, and replaced with every window (two minutes at most), so a
count can neither be read back as an address nor linked across windows. (A process that dies
between a window's first ``INCR`` and its ``EXPIRE`` leaves one count with no expiry; the window
is in its name, so it is never read again.) When Redis cannot be
reached, the limiter counts in its process again (logged once a minute) rather than refuse or
let everything through.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from privacyops.errors import ConfigurationError

__all__ = ["SharedCounts", "shared_counts"]

log = logging.getLogger(__name__)

_PREFIX = "privacyops:rate"


class SharedCounts:
    """Fixed-window counts in Redis.

    Args:
        client: a ``redis.Redis`` client.
        clock: wall-clock seconds (every process must agree on the window; tests pass a fake).
    """

    def __init__(self, client: Any, *, clock: Callable[[], float] = time.time) -> None:
        self._redis = client
        self._clock = clock
        self._salts: dict[int, bytes] = {}
        self._lock = threading.Lock()
        self._warned = 0.0

    def __repr__(self) -> str:
        return f"SharedCounts({self._redis!r})"

    def hit(self, key: str, window: float) -> tuple[int, float] | None:
        """Count one call of ``key`` in the current window of ``window`` seconds; returns the
        count so far and the seconds left in the window, or ``None`` when Redis is unreachable
        (the caller counts locally)."""
        import redis

        now = self._clock()
        slot = int(now // window)
        try:
            salt = self._salt(slot, window)
            name = f"{_PREFIX}:{hashlib.blake2b(key.encode(), key=salt).hexdigest()}:{slot}"
            count = self._redis.incr(name)
            if count == 1:  # the window's first call sets when the count goes away
                self._redis.expire(name, int(window) + 1)
        except redis.RedisError as exc:
            if now - self._warned > 60:
                self._warned = now
                log.warning("rate limits counted per process: Redis unreachable (%s)", type(exc))
            return None
        return int(count), (slot + 1) * window - now

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
        import redis
    except ImportError as exc:  # pragma: no cover - the scale extra brings it
        raise ConfigurationError(
            "PRIVACYOPS_CELERY_BROKER_URL points at Redis but the redis package is missing: "
            "pip install 'privacyops[scale]'."
        ) from exc

    client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
    return SharedCounts(client)
