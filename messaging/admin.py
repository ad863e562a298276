from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import ManyToManyField, QuerySet
from django.forms import ModelForm, ModelMultipleChoiceField
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from harbor_messaging.errors import HarborError
from harbor_messaging.tenants.models import Tenant

from .broadcasts import (
    broadcast_reach,
    check_broadcast_upload,
    do_keep_broadcast_upload,
    do_send_broadcast,
)
from .models import Broadcast, Message, MessageRecipient
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


class BroadcastForm(forms.ModelForm[Broadcast]):
    """The broadcast, plus one file to upload: checked here, with the chosen tenants' limits,
    so a refused file refuses the form and nothing is sent or kept."""

    upload = forms.FileField(
        label=_("upload a file"),
        required=False,
        help_text=_("Kept in your media library and attached, like a file picked above."),
    )

    class Meta:
        model = Broadcast
        fields = ["subject", "body", "all_tenants", "tenants", "media_files"]

    checked: Any = None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        uploaded = data.get("upload")
        if uploaded and not self.errors:
            tenants = list(
                Tenant.objects.order_by("pk")
                if data.get("all_tenants")
                else sorted(data.get("tenants") or [], key=lambda t: t.pk)
            )
            try:
                self.checked = check_broadcast_upload(uploaded=uploaded, tenants=tenants)
                self.upload_tenant = tenants[0]
            except HarborError as error:
                self.add_error("upload", error.message)
        return data


@admin.register(Broadcast)
class BroadcastAdmin(admin.ModelAdmin[Broadcast]):
    """Global admins write a broadcast and choose tenants; saving it sends it, once."""

    form = BroadcastForm
    list_display = ["subject", "sender", "all_tenants", "created_at", "sent_at", "reach_total"]
    fields = ["subject", "body", "all_tenants", "tenants", "media_files", "upload"]
    filter_horizontal = ["tenants"]
    readonly_fields = ["sender", "created_at", "sent_at", "reach"]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return bool(request.user.is_superuser)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # Sent is sent: the change page only shows it and its reach.

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def get_fields(self, request: HttpRequest, obj: Broadcast | None = None) -> Any:
        if obj is None:
            return self.fields
        return ["subject", "body", "all_tenants", "tenants", "sender", "sent_at", "reach"]

    def formfield_for_manytomany(
        self, db_field: ManyToManyField[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelMultipleChoiceField[Any] | None:
        if db_field.name == "media_files":
            from harbor_messaging.media.models import MediaFile

            # Only the admin's own media library files.
            kwargs["queryset"] = MediaFile.objects.filter(owner_id=request.user.pk)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_model(
        self, request: HttpRequest, obj: Broadcast, form: ModelForm[Any], change: bool
    ) -> None:
        if not change:
            obj.sender = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)

    def save_related(
        self, request: HttpRequest, form: ModelForm[Any], formsets: Any, change: bool
    ) -> None:
        super().save_related(request, form, formsets, change)
        broadcast = form.instance
        checked = getattr(form, "checked", None)
        if checked is not None:
            try:
                do_keep_broadcast_upload(
                    user=request.user,  # type: ignore[arg-type]
                    broadcast=broadcast,
                    checked=checked,
                    tenant=form.upload_tenant,  # type: ignore[attr-defined]
                )
            finally:
                checked.upload.close()
        if broadcast.sent_at is None:
            try:
                sent = do_send_broadcast(user=request.user, broadcast=broadcast)  # type: ignore[arg-type]
            except HarborError as error:
                self.message_user(request, error.message, messages.ERROR)
                return
            reached = sum(m.recipient_count for m in sent)
            self.message_user(
                request,
                _("Broadcast sent to %(tenants)d tenants, %(people)d members.")
                % {"tenants": len(sent), "people": reached},
                messages.SUCCESS,
            )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Broadcast]:
        return super().get_queryset(request).select_related("sender")

    @admin.display(description=_("reached"))
    def reach_total(self, obj: Broadcast) -> int:
        return sum(r.recipients for r in broadcast_reach(obj))

    @admin.display(description=_("reach and reads per tenant"))
    def reach(self, obj: Broadcast) -> SafeString:
        rows = broadcast_reach(obj)
        if not rows:
            return format_html("<p>{}</p>", _("Not sent."))
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    r.tenant.name,
                    r.recipients,
                    r.read,
                    f"{(100 * r.read // r.recipients) if r.recipients else 0} %",
                )
                for r in rows
            ),
        )
        return format_html(
            '<table class="broadcast-reach"><thead><tr><th>{}</th><th>{}</th><th>{}</th>'
            "<th>{}</th></tr></thead><tbody>{}</tbody></table>",
            _("Tenant"),
            _("Recipients"),
            _("Read"),
            _("Read share"),
            body,
        )
