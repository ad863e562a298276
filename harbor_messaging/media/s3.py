"""django-storages' S3 storage with one boto3 session per process.

django-storages builds a boto3 session, and from it an S3 resource, for every thread it is
used from, and Django runs each request's sync code in a thread of its own: every upload
and download built a session and parsed botocore's service model again (~250 ms a small
file against moto here, and ~0.7 MiB the allocator kept each time; docs/performance.md).
A boto3 session caches the models it loads, so one session per set of credentials is kept
for the process; resources stay one per thread as django-storages has them (a resource is
not thread-safe), made from the shared session under a lock (nor is a session).
"""

from __future__ import annotations

import threading
from typing import Any

from storages.backends.s3 import S3Storage

# Reentrant: a resource is made under it, and making one asks for the session.
_lock = threading.RLock()
_sessions: dict[tuple[Any, ...], Any] = {}


def _made_under_lock(name: str, per_thread: str) -> Any:
    """S3Storage's per-thread resource property ``name``, made under the lock the first
    time in each thread (``per_thread``: django-storages' thread-local it is kept in)."""
    make = getattr(S3Storage, name).fget

    def get(self: Any) -> Any:
        found = getattr(getattr(self, per_thread), "connection", None)
        if found is not None:
            return found
        with _lock:
            return make(self)

    return property(get)


class SharedSessionS3Storage(S3Storage):  # type: ignore[misc]
    def _create_session(self) -> Any:
        key = (self.session_profile, self.access_key, self.secret_key, self.security_token)
        with _lock:
            session = _sessions.get(key)
            if session is None:
                session = _sessions[key] = super()._create_session()
        return session

    connection = _made_under_lock("connection", "_connections")
    unsigned_connection = _made_under_lock("unsigned_connection", "_unsigned_connections")
