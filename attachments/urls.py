"""The attachment endpoints, under /api/messaging/attachments/."""

from __future__ import annotations

from django.urls import path

from . import api

urlpatterns = [
    path("messaging/attachments/upload", api.upload, name="api-attachments-upload"),
    path("messaging/attachments/attach", api.attach, name="api-attachments-attach"),
    path("messaging/attachments/<id:object_id>", api.by_id, name="api-attachments"),
    path(
        "messaging/attachments/<id:attachment_id>/download",
        api.download,
        name="api-attachment-download",
    ),
    path(
        "messaging/attachments/<id:attachment_id>/thumbnail",
        api.thumbnail,
        name="api-attachment-thumbnail",
    ),
]
