"""The library's own events view on /events/<channel>/, a send endpoint and a health check."""

from __future__ import annotations

import itertools
import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django_eventstream import send_event
from django_eventstream.views import events

_ids = itertools.count(1)


@csrf_exempt
def send(request: HttpRequest) -> HttpResponse:
    """POST /send — one event "message" to channel "tenant", as an app's view would send it."""
    if request.method != "POST":
        return JsonResponse({"error": "POST only"}, status=405)
    body = json.loads(request.body or b"{}")
    message_id = next(_ids)
    send_event(
        "tenant",
        "message",
        {"messageId": message_id, "subject": body.get("subject", ""), "body": body.get("body", "")},
    )
    return JsonResponse({"id": message_id}, status=201)


def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("events/<channel>/", events),
    path("send", send),
    path("healthz", healthz),
]
