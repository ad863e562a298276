"""A Redis cache for test runs that share a Redis server: clear() deletes only its own keys.

Django's RedisCache.clear() is FLUSHDB, which would wipe whatever else lives in that
database on the machine; scripts/test gives each run its own key prefix instead.
"""

from __future__ import annotations

from harbor_messaging.redis_cache import SharedPoolRedisCache


class PrefixOnlyRedisCache(SharedPoolRedisCache):
    def clear(self) -> bool:
        if not self.key_prefix:
            raise RuntimeError("PrefixOnlyRedisCache needs a KEY_PREFIX")
        client = self._cache.get_client(None, write=True)
        keys = list(client.scan_iter(match=f"{self.key_prefix}:*", count=500))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
        return True
