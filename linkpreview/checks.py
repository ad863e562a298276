"""System checks: a fetcher path that is no Fetcher, or networks and ports that do not
parse, fail loudly at start-up rather than on the first link."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register
from django.utils.module_loading import import_string

from .addresses import parse_networks
from .backends.base import Fetcher


@register()
def check_linkpreview_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    path = settings.LINKPREVIEW_FETCHER
    try:
        cls = import_string(path)
    except ImportError as exc:
        errors.append(
            Error(f"LINKPREVIEW_FETCHER {path!r} cannot be imported: {exc}", id="linkpreview.E001")
        )
    else:
        if not (isinstance(cls, type) and issubclass(cls, Fetcher)):
            errors.append(
                Error(f"LINKPREVIEW_FETCHER {path!r} is not a Fetcher", id="linkpreview.E002")
            )
    try:
        networks = parse_networks(settings.LINKPREVIEW_ALLOW_NETWORKS)
    except ValueError as exc:
        errors.append(Error(f"LINKPREVIEW_ALLOW_NETWORKS: {exc}", id="linkpreview.E003"))
    else:
        if networks:
            errors.append(
                Warning(
                    "LINKPREVIEW_ALLOW_NETWORKS opens non-public addresses to previews; "
                    "it is meant for tests only.",
                    id="linkpreview.W001",
                )
            )
    if settings.LINKPREVIEW_WORKER not in {"thread", "off"}:
        errors.append(Error("LINKPREVIEW_WORKER must be 'thread' or 'off'.", id="linkpreview.E004"))
    return errors
