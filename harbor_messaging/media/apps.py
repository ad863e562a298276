from __future__ import annotations

from django.apps import AppConfig


class MediaConfig(AppConfig):
    name = "harbor_messaging.media"
    label = "media"
    verbose_name = "Harbor media library"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
        from .daphne_body import install

        # Daphne hands a request body to the app all at once; this makes it one chunk per
        # receive(), so a 200 MB upload does not sit in memory (see daphne_body.py).
        install()
