"""The Redis cache shares one connection pool per process (harbor_messaging/redis_cache.py)."""

from __future__ import annotations

import contextvars
import threading
from typing import Any

import pytest
import redis

from harbor_messaging.redis_cache import SharedPoolRedisCache
from tests import factories
from tests.live import DaphneServer, login
from tests.sse import SSEStream


def _clients(url: str) -> int:
    """Connections to the server other than this one's."""
    with redis.Redis.from_url(url) as probe:
        return int(probe.info("clients")["connected_clients"]) - 1


def test_instances_in_many_contexts_and_threads_share_one_pool(redis_server: Any) -> None:
    """As Django makes them: one instance per thread and per async context, none closed."""
    params = {"KEY_PREFIX": "shared-pool-test"}
    kept: list[SharedPoolRedisCache] = []

    def use() -> None:
        cache = SharedPoolRedisCache(redis_server.url, params)
        cache.add("k", 0)
        cache.incr("k")
        kept.append(cache)

    for _ in range(20):
        contextvars.copy_context().run(use)
    threads = [threading.Thread(target=use) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert kept[0].get("k") == 40
    pools = {id(cache._cache._get_connection_pool(True)) for cache in kept}
    assert len(pools) == 1
    # At most one connection per command in flight at once, never one per instance.
    assert _clients(redis_server.url) <= 20
    kept.clear()


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_open_streams_hold_no_redis_connection_each(
    world: dict[str, Any], redis_server: Any
) -> None:
    """Each stream checks its open rate in the cache from its own context; it must not keep
    a connection to Redis for as long as it is open (500 streams held 504 before)."""
    env = {
        "REDIS_URL": redis_server.url,
        "HARBOR_REDIS_PREFIX": f"test-pool-{redis_server.port}",
        "HARBOR_STREAMS_PER_USER": "50",
        "HARBOR_RATE_STREAM_USER": "100/60",
        "HARBOR_RATE_STREAM_IP": "100/60",
    }
    server = DaphneServer(env=env).start()
    streams: list[SSEStream] = []
    try:
        client = login(server.url, "ann", factories.PASSWORD)
        client.get("/api/messaging/unread-count?tenantId=acme")
        before = _clients(redis_server.url)
        for _ in range(24):
            streams.append(SSEStream(client, "/api/messaging/stream/acme/").start())
        assert all(stream.status == 200 for stream in streams)
        held = _clients(redis_server.url)
        assert held <= before + 3, (before, held)
    finally:
        for stream in streams:
            stream.close()
        server.stop()
