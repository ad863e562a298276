"""The ASGI handler runs a request's middleware and view in one thread hop, async views too."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import iscoroutinefunction
from asgiref.testing import ApplicationCommunicator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.utils.deprecation import MiddlewareMixin

from harbor_messaging.asgi_handler import OneHopASGIHandler

seen: list[tuple[str, int]] = []


class Recorder(MiddlewareMixin):
    """A classic middleware, as Django's own are: which thread each hook runs on."""

    def process_request(self, request: HttpRequest) -> None:
        seen.append(("request", threading.get_ident()))

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        seen.append(("response", threading.get_ident()))
        return response


def sync_view(request: HttpRequest) -> HttpResponse:
    seen.append(("view", threading.get_ident()))
    return JsonResponse({"ok": True})


async def async_view(request: HttpRequest) -> HttpResponse:
    await asyncio.sleep(0)
    seen.append(("async view", threading.get_ident()))
    return JsonResponse({"async": True})


urlpatterns = [path("sync", sync_view), path("async", async_view)]

MIDDLEWARE = [
    "django.middleware.common.CommonMiddleware",
    f"{__name__}.Recorder",
    f"{__name__}.Recorder",
]


@pytest.fixture
def handler(settings: Any) -> OneHopASGIHandler:
    settings.ROOT_URLCONF = __name__
    settings.MIDDLEWARE = MIDDLEWARE
    settings.ALLOWED_HOSTS = ["testserver"]
    seen.clear()
    return OneHopASGIHandler()


def _get(handler: OneHopASGIHandler, url: str) -> tuple[int, bytes, int]:
    """The status and body of a GET through the ASGI handler, and the event loop's thread."""

    async def run() -> tuple[int, bytes, int]:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": url,
            "raw_path": url.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"testserver")],
            "client": ("127.0.0.1", 5000),
            "server": ("testserver", 80),
        }
        app = ApplicationCommunicator(handler, scope)
        await app.send_input({"type": "http.request", "body": b""})
        start = await app.receive_output(5)
        body = await app.receive_output(5)
        await app.wait(5)
        return start["status"], body["body"], threading.get_ident()

    runner: Callable[[], tuple[int, bytes, int]] = lambda: asyncio.run(run())  # noqa: E731
    return runner()


def test_the_middleware_chain_is_built_to_be_called_synchronously(
    handler: OneHopASGIHandler,
) -> None:
    assert not iscoroutinefunction(handler._middleware_chain)


@pytest.mark.django_db
def test_every_middleware_hook_and_the_view_run_on_one_thread_off_the_loop(
    handler: OneHopASGIHandler,
) -> None:
    status, body, loop_thread = _get(handler, "/sync")
    assert (status, body) == (200, b'{"ok": true}')
    assert [what for what, _ in seen] == ["request", "request", "view", "response", "response"]
    threads = {thread for _, thread in seen}
    assert len(threads) == 1
    assert loop_thread not in threads


@pytest.mark.django_db
def test_an_async_view_still_runs_on_the_event_loop(handler: OneHopASGIHandler) -> None:
    status, body, loop_thread = _get(handler, "/async")
    assert (status, body) == (200, b'{"async": true}')
    view_thread = dict(seen)["async view"]
    assert view_thread == loop_thread
    assert dict(seen)["request"] != loop_thread
