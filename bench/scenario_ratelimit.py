"""What a rate-limit check costs: in process memory (the embedded default) and in Redis (scaled
out, every web process counting together: ``privacyops.shared_counts``).

Each figure is one caller checking ``RateLimiter.hit`` in a loop (N distinct client keys, each
under its limit), so it is the time a request spends in the check. The Redis figure needs
``PRIVACYOPS_BENCH_REDIS_URL`` (``scripts/services.sh`` sets it to the test Redis on this
machine: one local round trip per check). The ratio is memory / Redis checks per second.
Measured on the 2-core machine: 0.6 µs in memory, 60-110 µs in Redis (quick run under load: 63).
"""

from __future__ import annotations

import os
import time
import uuid

import redis

from privacyops.shared_counts import SharedCounts
from privacyops.web.security import RateLimiter


def _rate(limiter: RateLimiter, n: int) -> float:
    prefix = uuid.uuid4().hex
    keys = [f"login:{prefix}:{i % 1000}" for i in range(n)]
    started = time.perf_counter()
    for key in keys:
        limiter.hit(key, 1_000_000)
    return n / (time.perf_counter() - started)


def run(quick: bool) -> list[tuple[str, float, str]]:
    n = 5_000 if quick else 50_000
    memory = _rate(RateLimiter(), n)
    out = [
        ("in process memory: checks/s", memory, "checks/s"),
        ("in process memory: per check", 1e6 / memory, "µs"),
    ]
    url = os.environ.get("PRIVACYOPS_BENCH_REDIS_URL")
    if url:
        client = redis.Redis.from_url(url)
        shared = _rate(RateLimiter(SharedCounts(client)), n)
        client.close()
        out += [
            ("in Redis, shared by all processes: checks/s", shared, "checks/s"),
            ("in Redis, shared by all processes: per check", 1e6 / shared, "µs"),
            ("ratio memory / Redis", memory / shared, "x"),
        ]
    return out
