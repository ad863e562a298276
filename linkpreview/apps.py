from __future__ import annotations

from django.apps import AppConfig


class LinkPreviewConfig(AppConfig):
    name = "linkpreview"
    verbose_name = "Link previews"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
