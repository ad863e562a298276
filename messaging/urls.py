"""The messaging JSON API, mounted under /api/ without a language prefix."""

from __future__ import annotations

from django.urls import path

from . import api, stream

urlpatterns = [
    path("messages", api.message_list, name="api-messages"),
    path("messaging/send", api.send, name="api-send"),
    path("messaging/messages", api.message_list, name="api-messaging-messages"),
    path("messaging/messages/read-all", api.mark_all_read, name="api-read-all"),
    path("messaging/messages/<id:message_id>", api.message_detail, name="api-message"),
    path("messaging/messages/<id:message_id>/read", api.mark_read, name="api-message-read"),
    path("messaging/threads/<id:thread_id>", api.thread, name="api-thread"),
    path("messaging/unread-count", api.unread_count, name="api-unread-count"),
    path("messaging/members", api.members, name="api-members"),
    path("messaging/stats", api.stats, name="api-stats"),
    path("messaging/stream/<slug:tenant_id>/", stream.stream_view, name="api-stream"),
    path("ops/streams", stream.stream_stats_view, name="api-stream-stats"),
]
