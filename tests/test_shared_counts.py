"""Rate limits counted in Redis by every process of a scaled-out service together (the test
Redis stands for the deployment's), and counted locally again when Redis is down."""

from __future__ import annotations

import os
import socket
import time
import uuid
from pathlib import Path

import pytest
import redis

from privacyops.consent.service import ConsentService
from privacyops.errors import RateLimited
from privacyops.ratelimit import RateLimiter, SharedCounts, shared_counts
from privacyops.settings import Settings
from privacyops.web.app import create_app

REDIS = os.environ.get("PRIVACYOPS_TEST_REDIS_URL")
pytestmark = pytest.mark.skipif(
    REDIS is None, reason="PRIVACYOPS_TEST_REDIS_URL not set (make test starts Redis and sets it)"
)


#: every process's clock, frozen inside one window: a test never straddles a window's end
NOW = time.time()


def process() -> SharedCounts:
    """What one web process holds: its own client of the shared Redis."""
    return SharedCounts(str(REDIS), clock=lambda: NOW)


def freeze(counts: SharedCounts | None) -> None:
    assert counts is not None
    counts._clock = lambda: NOW  # same process, same window for the whole test


def test_two_processes_share_one_limit() -> None:
    key = f"login:203.0.113.9:{uuid.uuid4().hex}"
    first, second = RateLimiter(process()), RateLimiter(process())
    assert first.hit(key, 3) is None
    assert second.hit(key, 3) is None
    assert first.hit(key, 3) is None
    wait = second.hit(key, 3)  # the fourth, whichever process gets it
    assert wait is not None
    assert 1 <= wait <= 61
    assert first.hit(f"login:198.51.100.1:{uuid.uuid4().hex}", 3) is None  # others unaffected


def test_consent_writes_share_one_limit_across_processes() -> None:
    client = f"203.0.113.{uuid.uuid4().int % 250}:{uuid.uuid4().hex}"
    first = RateLimiter(process())
    second = RateLimiter(process())
    first.check(client, 2)
    second.check(client, 2)
    with pytest.raises(RateLimited) as refused:
        first.check(client, 2)
    assert 1 <= refused.value.retry_after <= 61


def test_redis_holds_no_address() -> None:
    address = f"192.0.2.{uuid.uuid4().int % 250}"
    marker = uuid.uuid4().hex
    RateLimiter(process()).hit(f"login:{address}:{marker}", 5)
    client = redis.Redis.from_url(str(REDIS))
    keys = [k.decode() for k in client.scan_iter("privacyops:rate*")]
    client.close()
    assert keys  # it was counted there
    assert not any(address in k or marker in k for k in keys)


def test_redis_down_counts_in_the_process_again() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    down = shared_counts(f"redis://127.0.0.1:{port}/0")
    limiter = RateLimiter(down)
    key = f"login:{uuid.uuid4().hex}"
    assert [limiter.hit(key, 2) for _ in range(2)] == [None, None]
    assert limiter.hit(key, 2) is not None  # still limited, by this process alone


def test_the_service_counts_in_redis_when_scaled_out(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", celery_broker_url=REDIS)
    one, two = create_app(settings), create_app(settings)  # two web processes
    freeze(one.state.rate_limiter.shared)
    freeze(two.state.rate_limiter.shared)
    key = f"intake:{uuid.uuid4().hex}"
    assert one.state.rate_limiter.hit(key, 1) is None
    assert two.state.rate_limiter.hit(key, 1) is not None
    alone = create_app(Settings(data_dir=tmp_path / "data"))  # the embedded default
    assert alone.state.rate_limiter.shared is None
    # the consent API's limiter too
    web_a, web_b = ConsentService(settings), ConsentService(settings)
    freeze(web_a.limiter.shared)
    freeze(web_b.limiter.shared)
    client = f"198.51.100.7:{uuid.uuid4().hex}"
    for _ in range(settings.consent_rate_limit // 2):
        web_a.check_rate(client)
        web_b.check_rate(client)
    with pytest.raises(RateLimited):
        web_a.check_rate(client)
    assert ConsentService(Settings(data_dir=tmp_path / "data")).limiter.shared is None
