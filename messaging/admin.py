from __future__ import annotations

from django.contrib import admin
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from .models import Message, MessageRecipient
from .rendering import render_body_html


class RecipientInline(admin.TabularInline[MessageRecipient, Message]):
    model = MessageRecipient
    extra = 0
    fields = ["user", "read_at", "deleted_at"]
    readonly_fields = ["user", "read_at", "deleted_at"]
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin[Message]):
    list_display = [
        "id",
        "tenant",
        "sender",
        "subject",
        "audience",
        "recipient_count",
        "created_at",
        "deleted_at",
    ]
    list_filter = ["tenant", "audience", "is_broadcast"]
    search_fields = ["subject", "sender__username"]
    raw_id_fields = ["sender", "reply_to", "thread_root"]
    readonly_fields = [
        "created_at",
        "updated_at",
        "edited_at",
        "deleted_at",
        "recipient_count",
        "has_attachments",
        "attachment_count",
        "rendered_body",
    ]
    inlines = [RecipientInline]

    @admin.display(description=_("body as recipients see it"))
    def rendered_body(self, obj: Message) -> SafeString:
        # The one rendering of every surface: escaped, linkified, nothing else.
        return mark_safe(render_body_html(obj.body))
