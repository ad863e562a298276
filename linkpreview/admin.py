from __future__ import annotations

from django.contrib import admin

from .models import LinkPreview, MessageLink


@admin.register(LinkPreview)
class LinkPreviewAdmin(admin.ModelAdmin[LinkPreview]):
    list_display = ["normalized_url", "status", "title", "error", "fetched_at", "expires_at"]
    list_filter = ["status", "error"]
    search_fields = ["normalized_url", "title"]
    readonly_fields = [
        "normalized_url",
        "final_url",
        "title",
        "description",
        "site_name",
        "image_url",
        "thumbnail",
        "error",
        "requested_at",
        "fetched_at",
        "expires_at",
        "claimed_by",
        "claimed_until",
        "attempts",
    ]


@admin.register(MessageLink)
class MessageLinkAdmin(admin.ModelAdmin[MessageLink]):
    list_display = ["message", "position", "domain", "url", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["url", "domain", "title"]
    raw_id_fields = ["message", "preview"]
    readonly_fields = ["created_at"]
