from __future__ import annotations

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from . import filetypes
from .models import MediaFile, MediaSettings, TenantMediaSettings


def _types_field() -> forms.MultipleChoiceField:
    # Offers every type Harbor accepts; the model's clean() refuses what the level above
    # does not allow (for a tenant: the global list).
    return forms.MultipleChoiceField(
        label=_("allowed file types"),
        choices=[(t, filetypes.label_for(t)) for t in sorted(filetypes.ALLOWED)],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )


class MediaSettingsForm(forms.ModelForm[MediaSettings]):
    allowed_types = _types_field()

    class Meta:
        model = MediaSettings
        fields = ["max_file_size", "allowed_types"]


class TenantMediaSettingsForm(forms.ModelForm[TenantMediaSettings]):
    allowed_types = _types_field()

    class Meta:
        model = TenantMediaSettings
        fields = ["tenant", "max_file_size", "allowed_types"]


@admin.register(MediaSettings)
class MediaSettingsAdmin(admin.ModelAdmin[MediaSettings]):
    """The one row of global defaults: global admins edit it, nobody adds a second."""

    form = MediaSettingsForm
    list_display = ["__str__", "max_file_size"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser) and not MediaSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(TenantMediaSettings)
class TenantMediaSettingsAdmin(admin.ModelAdmin[TenantMediaSettings]):
    form = TenantMediaSettingsForm
    list_display = ["tenant", "max_file_size"]
    autocomplete_fields = ["tenant"]


@admin.register(MediaFile)
class MediaFileAdmin(admin.ModelAdmin[MediaFile]):
    list_display = ["name", "tenant", "owner", "origin", "size", "content_type", "scan_state"]
    list_filter = ["tenant", "origin", "scan_state", "content_type"]
    search_fields = ["name", "owner__username", "checksum"]
    raw_id_fields = ["owner"]
    readonly_fields = [
        "tenant",
        "owner",
        "origin",
        "file",
        "thumbnail",
        "name",
        "size",
        "content_type",
        "checksum",
        "scan_state",
        "created_at",
        "first_attached_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # Files come in through the checks of an upload, never around them.

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # Deleting goes through the library, which keeps messages in step.
