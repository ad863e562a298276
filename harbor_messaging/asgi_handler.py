"""Django's ASGI handler with the middleware chain and the view run in one thread hop.

Under ASGI Django builds its middleware chain in async mode, and every middleware written
the classic way (``MiddlewareMixin``: all of Django's own, and this project's) then runs
each of its ``process_request`` and ``process_response`` through ``sync_to_async`` on its
own: with ten middlewares, about twenty round trips between the event loop and the
request's thread, each a thread wake-up and a self-pipe write back. On this project's
2-core machine that was 8–12 ms of Daphne's CPU for ``/healthz`` and 15 ms of every send
before its event could go out (docs/performance.md). Here the chain is built in sync mode
and the whole of it, view included, runs in the request's one thread-sensitive hop, as
under WSGI. Async views still work: Django adapts them with ``async_to_sync``, which runs
them on the server's event loop. The event stream never comes here (messaging/stream_asgi.py).
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponseBase


class OneHopASGIHandler(ASGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        # The chain is called from a thread, synchronously (get_response_async below).
        super().load_middleware(is_async=False)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


def get_asgi_application() -> OneHopASGIHandler:
    """As ``django.core.asgi.get_asgi_application``, with this handler."""
    import django

    django.setup(set_prefix=False)
    return OneHopASGIHandler()
