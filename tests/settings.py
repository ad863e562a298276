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

from harbor_messaging.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
