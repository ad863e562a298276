"""Django's Redis cache, with one connection pool per server for the whole process.

Django keeps a cache instance per thread and per async context, and its Redis client
gives each instance a connection pool of its own, which Django never closes
(``BaseCache.close`` does nothing for Redis). Under ASGI a stream checks its open rate in
the cache from its own context, so every open stream kept a Redis connection for as long
as it was open: 500 streams held 504 connections to Redis, and at 10,000 streams on two
processes Redis refused clients (``max number of clients reached``), the rate limits
failed open and each stream carried a socket, a descriptor and redis-py's objects
(docs/performance.md). Here every instance with the same server and options takes the
process's one pool, and a connection goes back to it after each command, as redis-py
means it to; a forked child's pool starts afresh (redis-py checks the process id).
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

_pools: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()


class SharedPoolRedisCacheClient(RedisCacheClient):
    def _get_connection_pool(self, write: bool) -> Any:
        client: Any = self  # Django's private attributes, which its stubs leave out
        server = client._servers[client._get_connection_pool_index(write)]
        pool_class, options = client._pool_class, client._pool_options
        key = (server, repr((pool_class, sorted(options.items(), key=str))))
        pool = _pools.get(key)
        if pool is None:
            with _lock:
                pool = _pools.get(key)
                if pool is None:
                    pool = pool_class.from_url(server, **options)
                    _pools[key] = pool
        return pool


class SharedPoolRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = SharedPoolRedisCacheClient
