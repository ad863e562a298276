"""ASGI entry point of the stock set-up: ``daphne stock.asgi:application`` (cwd bench/)."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stock.settings")

application = get_asgi_application()
