"""The preview cache (one row per normalised URL, shared by every tenant and message, and
the queue the worker drains) and the links found in each message."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from messaging.models import Message

from .extraction import DESCRIPTION_MAX, IMAGE_URL_MAX, SITE_NAME_MAX, TITLE_MAX
from .inspection import URL_MAX


class LinkPreview(models.Model):
    """What one URL's page says about itself, fetched once for everybody."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be fetched")
        READY = "ready", _("Fetched")
        FAILED = "failed", _("Could not be fetched")

    normalized_url = models.CharField(max_length=URL_MAX, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    final_url = models.CharField(max_length=URL_MAX, blank=True)
    title = models.CharField(max_length=TITLE_MAX, blank=True)
    description = models.CharField(max_length=DESCRIPTION_MAX, blank=True)
    site_name = models.CharField(max_length=SITE_NAME_MAX, blank=True)
    image_url = models.CharField(max_length=IMAGE_URL_MAX, blank=True)
    # The thumbnail as we re-encoded it, on the default storage; served from our own URL.
    thumbnail = models.CharField(max_length=255, blank=True)
    error = models.CharField(max_length=40, blank=True)
    requested_at = models.DateTimeField(auto_now_add=True)
    fetched_at = models.DateTimeField(null=True, blank=True)
    # Fetched again when asked for after this (a day for a page, minutes for a failure).
    expires_at = models.DateTimeField(null=True, blank=True)
    # A worker's claim on a pending row: no other worker takes it before claimed_until.
    claimed_by = models.CharField(max_length=64, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("link preview")
        verbose_name_plural = _("link previews")
        indexes = [
            models.Index(
                fields=["requested_at"],
                name="linkpreview_queue",
                condition=Q(status="pending"),
            ),
            models.Index(fields=["expires_at"], name="linkpreview_expiry"),
        ]

    def __str__(self) -> str:
        return f"{self.normalized_url} ({self.status})"


class MessageLink(models.Model):
    """One link in one message: where it points, and the preview shown for it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Preview on its way")
        READY = "ready", _("Preview shown")
        UNAVAILABLE = "unavailable", _("No preview")
        REMOVED = "removed", _("Preview removed by the sender")

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="links")
    position = models.PositiveSmallIntegerField()
    url = models.CharField(_("URL"), max_length=URL_MAX)
    normalized_url = models.CharField(max_length=URL_MAX)
    domain = models.CharField(_("domain"), max_length=255)
    preview = models.ForeignKey(
        LinkPreview, null=True, blank=True, on_delete=models.SET_NULL, related_name="links"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    # The preview as this message shows it, copied when its fetch finished.
    title = models.CharField(_("title"), max_length=TITLE_MAX, blank=True)
    description = models.CharField(_("description"), max_length=DESCRIPTION_MAX, blank=True)
    site_name = models.CharField(max_length=SITE_NAME_MAX, blank=True)
    thumbnail_url = models.CharField(_("thumbnail URL"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("message link")
        verbose_name_plural = _("message links")
        ordering = ["message_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["message", "position"], name="messagelink_position"),
        ]
        indexes = [
            # The worker's "which messages wait for this preview" after each fetch.
            models.Index(
                fields=["preview"], name="messagelink_waiting", condition=Q(status="pending")
            ),
        ]

    def __str__(self) -> str:
        return f"message {self.message_id} link {self.position}: {self.url[:60]}"
