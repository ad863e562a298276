"""Media library tables: the files, and the size limits (global default, per tenant)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from harbor_messaging.tenants.models import Tenant

from . import filetypes

NAME_MAX = 255
MiB = 1024 * 1024


class MediaFile(models.Model):
    class Origin(models.TextChoices):
        # Uploaded from the desktop in the composer; removed by cleanup if never attached.
        UPLOAD = "upload", _("Desktop upload")
        # Uploaded on the media library page.
        MEDIA_LIBRARY = "media_library", _("Media library")

    class ScanState(models.TextChoices):
        # Files are kept only once clean, so no stored file is ever infected or pending.
        CLEAN = "clean", _("Scanned, clean")
        NOT_SCANNED = "not_scanned", _("Not scanned (scanning is off)")

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="media_files")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="media_files"
    )
    origin = models.CharField(max_length=20, choices=Origin.choices, default=Origin.UPLOAD)
    file = models.FileField(_("file"), max_length=300)
    thumbnail = models.FileField(_("thumbnail"), max_length=300, blank=True)
    name = models.CharField(_("name"), max_length=NAME_MAX)
    size = models.PositiveBigIntegerField(_("size"))
    content_type = models.CharField(_("content type"), max_length=100)
    # SHA-256 of the bytes, hex.
    checksum = models.CharField(_("checksum"), max_length=64)
    scan_state = models.CharField(max_length=20, choices=ScanState.choices)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    # When it was first attached to a message; cleanup keeps every file that ever was.
    first_attached_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("media file")
        verbose_name_plural = _("media files")
        indexes = [
            models.Index(fields=["tenant", "owner", "-created_at", "-id"], name="media_library"),
            models.Index(
                fields=["created_at"],
                name="media_unattached_uploads",
                condition=Q(origin="upload", first_attached_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.tenant_id}/{self.owner_id})"


class MediaSettings(models.Model):
    """The global defaults, one row, set by a global admin in the Django admin."""

    max_file_size = models.PositiveBigIntegerField(
        _("largest file, bytes"),
        default=25 * MiB,
        help_text=_("For every tenant that sets no limit of its own."),
    )
    # MIME types, each one of filetypes.ALLOWED; empty: all of them.
    allowed_types = models.JSONField(
        _("allowed file types"),
        default=list,
        blank=True,
        help_text=_("None chosen: every type Harbor accepts."),
    )

    class Meta:
        verbose_name = _("media settings (global)")
        verbose_name_plural = _("media settings (global)")
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="media_settings_singleton")]

    def __str__(self) -> str:
        return "Global media settings"

    def save(self, *args: object, **kwargs: object) -> None:
        self.pk = 1  # One row only: saving always writes that row.
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def clean(self) -> None:
        refused = filetypes.outside(self.allowed_types or [], within=filetypes.ALLOWED)
        if refused:
            raise ValidationError(
                {
                    "allowed_types": ValidationError(
                        _("Harbor never accepts these types: %(types)s."),
                        params={"types": ", ".join(refused)},
                    )
                }
            )


class TenantMediaSettings(models.Model):
    """A tenant's own limit, overriding the global default (set by a global or tenant admin)."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="media_settings")
    max_file_size = models.PositiveBigIntegerField(
        _("largest file, bytes"), null=True, blank=True, help_text=_("Empty: the global default.")
    )
    # MIME types, each one of the global list; empty: the global list.
    allowed_types = models.JSONField(
        _("allowed file types"),
        default=list,
        blank=True,
        help_text=_("None chosen: the global list."),
    )

    class Meta:
        verbose_name = _("tenant media settings")
        verbose_name_plural = _("tenant media settings")

    def __str__(self) -> str:
        return f"Media settings of {self.tenant.slug}"

    def clean(self) -> None:
        from .selectors import global_allowed_types

        refused = filetypes.outside(self.allowed_types or [], within=global_allowed_types())
        if refused:
            raise ValidationError(
                {
                    "allowed_types": ValidationError(
                        _("The global settings do not allow these types: %(types)s."),
                        params={"types": ", ".join(refused)},
                    )
                }
            )
