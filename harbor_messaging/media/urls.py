"""The media library's JSON API, under /api/media/."""

from __future__ import annotations

from django.urls import path

from . import api

urlpatterns = [
    path("files", api.files, name="api-media-files"),
    path("files/<id:file_id>/download", api.download, name="api-media-download"),
    path("files/<id:file_id>/thumbnail", api.thumbnail, name="api-media-thumbnail"),
]
