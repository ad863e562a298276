"""System checks: a misconfigured event publisher fails loudly at start-up."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register
from django.utils.module_loading import import_string

from .publishers.base import EventPublisher


@register()
def check_event_publisher(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    path = settings.HARBOR_EVENT_PUBLISHER
    try:
        cls = import_string(path)
    except ImportError as exc:
        return [
            Error(f"HARBOR_EVENT_PUBLISHER {path!r} cannot be imported: {exc}", id="messaging.E001")
        ]
    if not (isinstance(cls, type) and issubclass(cls, EventPublisher)):
        return [
            Error(f"HARBOR_EVENT_PUBLISHER {path!r} is not an EventPublisher", id="messaging.E002")
        ]
    return []
