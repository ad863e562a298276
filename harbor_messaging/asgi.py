"""ASGI entry point, served by Daphne: ``daphne harbor_messaging.asgi:application``."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "harbor_messaging.settings")

django_application = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

# Static files are few and small; Daphne serves them itself so the two commands need no
# other web server. A CDN or reverse proxy in front can take them over in production.
# The event stream is a Django view (django-eventstream streams through Django's async
# responses), so HTTP is the only protocol routed.
application = ProtocolTypeRouter({"http": ASGIStaticFilesHandler(django_application)})
