"""ASGI entry point, served by Daphne: ``daphne harbor_messaging.asgi:application``."""

from __future__ import annotations

import gc
import os
import re
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "harbor_messaging.settings")

from harbor_messaging.asgi_handler import get_asgi_application

# Django's handler, with its middleware chain run in one thread hop (asgi_handler.py).
django_application = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402
from django.urls import re_path  # noqa: E402

from harbor_messaging import gcwatch  # noqa: E402
from messaging.stream_asgi import StreamApplication  # noqa: E402

# Static files are few and small; Daphne serves them itself so the two commands need no
# other web server. A CDN or reverse proxy in front can take them over in production.
web = ASGIStaticFilesHandler(django_application)

# The event stream is routed ahead of Django's handler, so an open stream is a coroutine
# rather than a thread (messaging/stream_asgi.py); everything else is Django.
STREAM_PATH = r"^api/messaging/stream/(?P<tenant_id>[^/]+)/$"
stream = StreamApplication(fallback=web)
router = ProtocolTypeRouter(
    {
        "http": URLRouter(
            [
                # channels' URLRouter takes ASGI apps where Django's stubs expect views.
                re_path(STREAM_PATH, stream),  # type: ignore[arg-type]
                re_path(r"", web),  # type: ignore[arg-type]
            ]
        )
    }
)
_stream_path = re.compile("/" + STREAM_PATH.lstrip("^"))


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Streams straight to their app; the rest through channels' routers.

    The routers copy the scope and stay on the call stack for as long as a request lasts:
    for a stream open for hours that was ~1 KB of frames and dicts each (tracemalloc).
    """
    if scope["type"] == "http" and not scope.get("root_path"):
        match = _stream_path.fullmatch(scope["path"])
        if match is not None:
            scope["url_route"] = {"args": (), "kwargs": match.groupdict()}
            await stream(scope, receive, send)
            return
    await router(scope, receive, send)


# Previews a previous run left pending are fetched from start-up, not from the next send.
from linkpreview import worker as preview_worker  # noqa: E402

preview_worker.wake()

# Everything loaded at start-up is there for good: keep the collector from scanning it on
# every full collection (long pauses with many open streams).
gc.collect()
gc.freeze()
# Full collections on a clock rather than on allocation counts (gcwatch.py).
gcwatch.install(full_every=settings.HARBOR_GC_FULL_SECONDS)
