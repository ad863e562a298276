"""Tenant and Membership tables."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

SLUG_PATTERN = r"^[a-z0-9-]{1,50}$"


class Tenant(models.Model):
    slug = models.CharField(
        _("slug"),
        max_length=50,
        unique=True,
        validators=[RegexValidator(SLUG_PATTERN, _("Use 1–50 of a–z, 0–9 and '-'."))],
    )
    name = models.CharField(_("name"), max_length=200)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    # Whole-tenant messages sent whose recipient rows are not all stored yet; kept by
    # messaging.delivery, and read with the access check so a read knows to catch up.
    undelivered_messages = models.PositiveIntegerField(default=0, db_default=0, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tenant")
        verbose_name_plural = _("tenants")

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"


class Membership(models.Model):
    class Role(models.TextChoices):
        SUBSCRIBER = "subscriber", _("Subscriber")
        TENANT_ADMIN = "tenant_admin", _("Tenant admin")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.SUBSCRIBER)
    created_at = models.DateTimeField(_("joined"), auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "tenant"], name="membership_user_tenant_unique"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "user"], name="membership_tenant_user")]

    def __str__(self) -> str:
        return f"{self.user} in {self.tenant.slug} ({self.role})"

    @property
    def is_tenant_admin(self) -> bool:
        return self.role == self.Role.TENANT_ADMIN


class TenantSettings(models.Model):
    """A tenant's own switches, set by a global admin (Django admin) or a tenant admin (the
    Harbor settings page). No row means the defaults."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="settings")
    link_previews_enabled = models.BooleanField(
        _("link previews"),
        default=True,
        help_text=_("Fetch previews of links in this tenant's messages."),
    )

    class Meta:
        verbose_name = _("tenant settings")
        verbose_name_plural = _("tenant settings")

    def __str__(self) -> str:
        return f"Settings of {self.tenant.slug}"
