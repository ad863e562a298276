"""The link endpoints, mounted at /api/messaging/links/."""

from __future__ import annotations

from django.urls import path

from . import api

urlpatterns = [
    path("process", api.process, name="linkpreview-process"),
    path("preview", api.preview, name="linkpreview-preview"),
    path("refresh", api.refresh, name="linkpreview-refresh"),
    path("remove", api.remove, name="linkpreview-remove"),
    path("thumbnails/<str:name>", api.thumbnail, name="linkpreview-thumbnail"),
]
