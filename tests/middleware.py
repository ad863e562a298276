"""Test-only middleware for live servers that outlive one test's database."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.contenttypes.models import ContentType
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import sync_and_async_middleware


@sync_and_async_middleware
def FreshContentTypesMiddleware(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    from asgiref.sync import iscoroutinefunction

    if iscoroutinefunction(get_response):

        async def amiddleware(request: HttpRequest) -> HttpResponse:
            ContentType.objects.clear_cache()
            return await get_response(request)  # type: ignore[no-any-return,misc]

        return amiddleware  # type: ignore[return-value]

    def middleware(request: HttpRequest) -> HttpResponse:
        ContentType.objects.clear_cache()
        return get_response(request)

    return middleware
