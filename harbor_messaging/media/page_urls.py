"""The media library page, under the language prefix (/en/harbor/media/)."""

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("media/", views.library, name="media-library"),
    path("media/<id:file_id>/delete", views.delete_file, name="media-delete"),
    path("media/limit", views.set_limit, name="media-limit"),
]
