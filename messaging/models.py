"""Message and per-recipient state tables, indexed for the inbox page and the unread count."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from harbor_messaging.tenants.models import Tenant

SUBJECT_MAX = 200
BODY_MAX = 20_000
RECIPIENTS_MAX = 500


class Message(models.Model):
    class Audience(models.TextChoices):
        DIRECT = "direct", _("Chosen members")
        TENANT = "tenant", _("Whole tenant")
        BROADCAST = "broadcast", _("Broadcast")

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="messages")
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sent_messages"
    )
    subject = models.CharField(_("subject"), max_length=SUBJECT_MAX, blank=True)
    body = models.TextField(_("body"), max_length=BODY_MAX, blank=True)
    # The body rendered once, when sent or edited (rendering.render_body_html), so no read
    # renders it again; read as stale, and rendered afresh, when its version is not the
    # renderer's current RENDER_VERSION.
    body_html = models.TextField(blank=True, default="")
    body_html_version = models.PositiveSmallIntegerField(default=0)
    audience = models.CharField(max_length=10, choices=Audience.choices, default=Audience.DIRECT)
    is_broadcast = models.BooleanField(_("broadcast"), default=False)
    reply_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replies"
    )
    # The first message of the thread; null on that first message itself.
    thread_root = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="thread_messages"
    )
    recipient_count = models.PositiveIntegerField(default=0)
    # A direct message's recipients as the JSON lists them ({"id", "name"}, in the order they
    # were addressed), written at send time since they never change: a page of messages then
    # needs no query for them. Null for a whole-tenant message or a broadcast (none listed).
    recipients_shown = models.JSONField(null=True, blank=True, default=None)
    # A whole-tenant message whose recipient rows are not stored yet (messaging/delivery.py).
    fanout_pending = models.BooleanField(default=False, db_default=False)
    has_attachments = models.BooleanField(default=False)
    attachment_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    edited_at = models.DateTimeField(_("edited"), null=True, blank=True)
    # Set when the sender deletes it for everyone; its text is cleared at the same time.
    deleted_at = models.DateTimeField(null=True, blank=True)
    # A global admin's broadcast: one Message per chosen tenant, each with its own recipients.
    broadcast = models.ForeignKey(
        "Broadcast", null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        indexes = [
            # The sent box: one sender in one tenant, newest first, live messages only.
            models.Index(
                fields=["sender", "tenant", "-created_at", "-id"],
                name="message_sent_box",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(fields=["thread_root", "created_at"], name="message_thread"),
            # The few whole-tenant messages still waiting for their recipient rows.
            models.Index(
                fields=["tenant"], name="message_fanout_pending", condition=Q(fanout_pending=True)
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject[:40]}"

    @property
    def thread_id(self) -> int:
        return self.thread_root_id or self.pk


class Broadcast(models.Model):
    """A global admin's message to every member of one, several or all tenants.

    Sent once, when first saved in the Django admin (messaging.broadcasts.do_send_broadcast):
    each tenant gets a Message of its own, so no tenant sees which others got it.
    """

    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="broadcasts"
    )
    subject = models.CharField(_("subject"), max_length=SUBJECT_MAX)
    body = models.TextField(_("body"), max_length=BODY_MAX, blank=True)
    all_tenants = models.BooleanField(
        _("all tenants"), default=False, help_text=_("Every tenant, whatever is chosen below.")
    )
    tenants = models.ManyToManyField(
        Tenant, blank=True, related_name="broadcasts", verbose_name=_("tenants")
    )
    media_files = models.ManyToManyField(
        "media.MediaFile",
        blank=True,
        related_name="broadcasts",
        verbose_name=_("attachments from your media library"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("broadcast")
        verbose_name_plural = _("broadcasts")

    def __str__(self) -> str:
        return self.subject[:60]


class MessageRecipient(models.Model):
    """One recipient's copy of a message: their own read and delete state."""

    # Neither foreign key has an index of its own: the unique (message, user) serves lookups
    # by message and recipient_inbox, over every row, those by user. A whole-tenant message
    # writes a row into each member's part of every user-keyed index, one leaf page per
    # member per index (docs/performance.md): two such indexes, not three.
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="message_deliveries",
        db_index=False,
    )
    # Copied from the message so the inbox and the unread count never join it to filter or sort.
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("message recipient")
        verbose_name_plural = _("message recipients")
        constraints = [
            models.UniqueConstraint(fields=["message", "user"], name="recipient_message_user"),
        ]
        indexes = [
            # The inbox page: keyset on (created_at, message) within one user's tenant box.
            # Over every row, deleted ones too (the page reads each row it shows anyway and
            # skips the few deleted), so it is also the user foreign key's index.
            models.Index(
                fields=["user", "tenant", "-created_at", "-message"], name="recipient_inbox"
            ),
            # The unread count and the unread filter touch only the unread rows.
            models.Index(
                fields=["user", "tenant", "-created_at", "-message"],
                name="recipient_unread",
                condition=Q(deleted_at__isnull=True, read_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"message {self.message_id} to user {self.user_id}"


class UnreadCount(models.Model):
    """Changes to one user's unread count in one tenant; the count is their sum.

    Only the database's triggers on MessageRecipient write it (migration 0007): a row
    per statement and user, for the rows that became unread or stopped being (a row is
    unread while neither read nor deleted). They insert and never update, so no writer
    waits on another's lock; a read of the counts folds a user's rows into one when they
    pile up (``counts.fold``). The count used to be a COUNT(*) over the user's unread
    rows, which at 1M messages was most of a send's database time (docs/performance.md).
    """

    # No foreign keys in the database: the triggers' inserts take no key-share locks on
    # the user's and tenant's rows. DO_NOTHING: deleting a user or tenant deletes their
    # recipient rows, whose unread ones the triggers take off again, so their rows sum to
    # 0; the clean-up command removes them (``counts.fold_all``). No index of their own
    # either: unread_count_user serves the reads, and each insert writes one entry, not three.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    tenant = models.ForeignKey(
        Tenant, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, db_index=False
    )
    n = models.IntegerField()

    class Meta:
        verbose_name = _("unread count change")
        verbose_name_plural = _("unread count changes")
        indexes = [
            # With n, so a read is index-only.
            models.Index(fields=["user", "tenant", "n"], name="unread_count_user"),
        ]

    def __str__(self) -> str:
        return f"user {self.user_id} in tenant {self.tenant_id}: {self.n:+d}"


class StreamChannel(models.Model):
    """One event stream channel (a tenant's, or one user's in a tenant) and its last event id."""

    name = models.CharField(max_length=120, unique=True)
    last_id = models.BigIntegerField(default=0)
    # Events up to this id have been trimmed; a client asking from before it must reset.
    trimmed_through = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_id}"


class StreamEvent(models.Model):
    """A stored event, kept so a client that reconnects gets what it missed, in order."""

    channel = models.CharField(max_length=120)
    eid = models.BigIntegerField()
    type = models.CharField(max_length=40)
    data = models.TextField()
    # A tenant-wide event's sender, who has their own copy on their user channel.
    skip_user_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "eid"], name="stream_event_channel_eid"),
        ]

    def __str__(self) -> str:
        return f"{self.channel}:{self.eid} {self.type}"
