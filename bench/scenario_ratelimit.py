"""What a rate-limit check costs (``privacyops.ratelimit``), next to what it could be built on.

Each figure is one caller checking in a loop (N calls over 1,000 client keys, each under its
limit), so it is the time a request spends in the check:

- **in process memory** (the embedded default): our sliding window, against the ``limits``
  library's memory storage with its moving-window (the same sliding count) and fixed-window
  strategies. ``limits`` would be used were it not slower: the ratios say by how much it is.
- **in Redis** (scaled out, every web process counting together): ``SharedCounts`` (one
  ``INCR`` of a keyed hash of the address), against ``limits``' Redis storage and fixed window
  (an atomic Lua ``INCR``/``EXPIRE``) on the same keyed hashes, the two interleaved (medians).
  Needs ``PRIVACYOPS_BENCH_REDIS_URL`` (``scripts/services.sh`` sets it to the test Redis on
  this machine: one local round trip per check).
"""

from __future__ import annotations

import hashlib
import os
import statistics
import time
import uuid
from collections.abc import Callable

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter

from privacyops.ratelimit import RateLimiter, SharedCounts

LIMIT = 1_000_000


def _per_check(check: Callable[[str], object], n: int) -> float:
    """Microseconds per check."""
    prefix = uuid.uuid4().hex
    keys = [f"login:{prefix}:{i % 1000}" for i in range(n)]
    started = time.perf_counter()
    for key in keys:
        check(key)
    return (time.perf_counter() - started) / n * 1e6


def _memory(n: int) -> list[tuple[str, float, str]]:
    ours = RateLimiter()
    item = RateLimitItemPerSecond(LIMIT, 60)
    moving = MovingWindowRateLimiter(MemoryStorage())
    fixed = FixedWindowRateLimiter(MemoryStorage())
    us = _per_check(lambda k: ours.hit(k, LIMIT), n)
    us_moving = _per_check(lambda k: moving.hit(item, k), n)
    us_fixed = _per_check(lambda k: fixed.hit(item, k), n)
    return [
        ("memory, privacyops.ratelimit (sliding): per check", us, "µs"),
        ("memory, limits MemoryStorage moving window: per check", us_moving, "µs"),
        ("memory, limits MemoryStorage fixed window: per check", us_fixed, "µs"),
        ("memory, limits moving / ours", us_moving / us, "x"),
    ]


def _redis(url: str, n: int) -> list[tuple[str, float, str]]:
    from limits.storage import RedisStorage

    ours = RateLimiter(SharedCounts(url))
    storage = RedisStorage(url, key_prefix="privacyops:bench", wrap_exceptions=True)
    fixed = FixedWindowRateLimiter(storage)
    item = RateLimitItemPerSecond(LIMIT, 60)
    salt = os.urandom(32)

    def with_limits(key: str) -> None:  # the same keyed hash, counted by limits
        hashed = hashlib.blake2b(key.encode(), key=salt).hexdigest()
        fixed.hit(item, hashed, str(int(time.time() // 60)))

    # interleaved, key by key, so that the load of a shared machine falls on both alike
    ours_ns: list[int] = []
    limits_ns: list[int] = []
    prefix = uuid.uuid4().hex
    for i in range(n):
        key = f"login:{prefix}:{i % 1000}"
        started = time.perf_counter_ns()
        ours.hit(key, LIMIT)
        ours_ns.append(time.perf_counter_ns() - started)
        started = time.perf_counter_ns()
        with_limits(key)
        limits_ns.append(time.perf_counter_ns() - started)
    us, us_limits = statistics.median(ours_ns) / 1e3, statistics.median(limits_ns) / 1e3
    return [
        ("Redis, privacyops.ratelimit (INCR): median per check", us, "µs"),
        ("Redis, limits RedisStorage fixed window: median per check", us_limits, "µs"),
        ("Redis, limits / ours", us_limits / us, "x"),
    ]


def run(quick: bool) -> list[tuple[str, float, str]]:
    n = 5_000 if quick else 50_000
    out = _memory(n)
    url = os.environ.get("PRIVACYOPS_BENCH_REDIS_URL")
    if url:
        out += _redis(url, n // 5)
    return out
