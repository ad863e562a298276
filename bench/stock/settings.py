"""Settings of the stock set-up: django-eventstream out of the box, no auth, one channel.

Only what the library's README asks for, plus a database: its own DjangoModelStorage, the
default channel manager (everyone may read every channel), no Redis, no Pushpin.
"""

from __future__ import annotations

import os
from pathlib import Path

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "stock-eventstream-bench-only-key-0123456789")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.contenttypes",
    "django.contrib.auth",  # django-eventstream's EventRequest looks up the user model
    "django_eventstream",
]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "stock.urls"
ASGI_APPLICATION = "stock.asgi.application"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get(
            "STOCK_DATABASE_PATH",
            str(Path(__file__).resolve().parents[2] / "var" / "bench" / "sse" / "stock.sqlite3"),
        ),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"

EVENTSTREAM_STORAGE_CLASS = "django_eventstream.storage.DjangoModelStorage"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
