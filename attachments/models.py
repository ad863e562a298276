"""The MessageAttachments table.

Cascade rules: a message's attachments go with the message row (CASCADE; the media files
stay in their owner's library). A media file cannot be deleted while attached (RESTRICT):
``media.actions.do_delete_media_file`` first removes it from its messages, keeping their
counts exact and announcing each removal; deleting a user or tenant takes their messages,
and so these rows, in the same cascade, which RESTRICT allows.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from harbor_messaging.media.models import NAME_MAX, MediaFile
from messaging.models import Message


class MessageAttachment(models.Model):
    class Type(models.TextChoices):
        UPLOAD = "upload", _("Uploaded from the desktop")
        MEDIA_LIBRARY = "media_library", _("Picked from the media library")

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    media_file = models.ForeignKey(MediaFile, on_delete=models.RESTRICT, related_name="attachments")
    attachment_type = models.CharField(max_length=20, choices=Type.choices)
    # Copied from the media file when attached: what the message showed stays what it shows.
    file_name = models.CharField(_("file name"), max_length=NAME_MAX)
    file_size = models.PositiveBigIntegerField(_("file size"))
    content_type = models.CharField(_("content type"), max_length=100)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("message attachment")
        verbose_name_plural = _("message attachments")
        constraints = [
            models.UniqueConstraint(
                fields=["message", "media_file"], name="attachment_message_file"
            ),
        ]
        indexes = [models.Index(fields=["media_file"], name="attachment_media_file")]

    def __str__(self) -> str:
        return f"{self.file_name} on message {self.message_id}"
