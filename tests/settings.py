"""Test settings: the project's own settings on test-friendly environment defaults."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_DEBUG", "0")
os.environ.setdefault(
    "HARBOR_DATA_DIR",
    str(__import__("pathlib").Path(__file__).resolve().parent.parent / "var" / "test"),
)
os.environ.setdefault("DJANGO_SECRET_KEY", "harbor-tests-only-secret-key-0123456789abcdef")
os.environ.setdefault("HARBOR_SECURE_COOKIES", "0")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,testserver")
os.environ.setdefault("HARBOR_EVENT_PUBLISHER", "messaging.publishers.memory.MemoryPublisher")
# No preview worker threads in the test process; tests that fetch start a worker themselves.
os.environ.setdefault("LINKPREVIEW_WORKER", "off")

from harbor_messaging.settings import *  # noqa: F403
from harbor_messaging.settings import CACHES, DATABASES, REDIS_URL

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# scripts/test names a test database per run, so runs side by side on one PostgreSQL server
# (two work trees, two developers) never drop each other's database.
_test_database_name = os.environ.get("HARBOR_TEST_DATABASE_NAME", "")
if _test_database_name and DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"].setdefault("TEST", {})["NAME"] = _test_database_name

# The machine's Redis is shared: a test run may only ever delete keys under its own prefix.
if REDIS_URL:
    CACHES["default"]["BACKEND"] = "tests.redis_cache.PrefixOnlyRedisCache"

# Transactional tests flush the database between tests, and post_migrate makes the content
# types again under new ids; a live server that outlives one test must not keep the old ones.
MIDDLEWARE = [*MIDDLEWARE, "tests.middleware.FreshContentTypesMiddleware"]  # noqa: F405
