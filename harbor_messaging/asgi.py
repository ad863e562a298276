"""ASGI entry point, served by Daphne: ``daphne harbor_messaging.asgi:application``."""

from __future__ import annotations

import gc
import os

from django.conf import settings
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "harbor_messaging.settings")

django_application = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402
from django.urls import re_path  # noqa: E402

from harbor_messaging import gcwatch  # noqa: E402
from messaging.stream_asgi import StreamApplication  # noqa: E402

# Static files are few and small; Daphne serves them itself so the two commands need no
# other web server. A CDN or reverse proxy in front can take them over in production.
web = ASGIStaticFilesHandler(django_application)

# The event stream is routed ahead of Django's handler, so an open stream is a coroutine
# rather than a thread (messaging/stream_asgi.py); everything else is Django.
application = ProtocolTypeRouter(
    {
        "http": URLRouter(
            [
                # channels' URLRouter takes ASGI apps where Django's stubs expect views.
                re_path(
                    r"^api/messaging/stream/(?P<tenant_id>[^/]+)/$",
                    StreamApplication(fallback=web),  # type: ignore[arg-type]
                ),
                re_path(r"", web),  # type: ignore[arg-type]
            ]
        )
    }
)

# Previews a previous run left pending are fetched from start-up, not from the next send.
from linkpreview import worker as preview_worker  # noqa: E402

preview_worker.wake()

# Everything loaded at start-up is there for good: keep the collector from scanning it on
# every full collection (long pauses with many open streams).
gc.collect()
gc.freeze()
# Full collections on a clock rather than on allocation counts (gcwatch.py).
gcwatch.install(full_every=settings.HARBOR_GC_FULL_SECONDS)
