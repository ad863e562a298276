"""What messaging does when a member leaves a tenant: their streams there end at once."""

from __future__ import annotations

from django.db import transaction

from . import relay
from .channels import channels_for, forget_access


def notify_member_removed(*, user_id: int, tenant_slug: str) -> None:
    """After commit, end the user's streams on that tenant in every server process."""

    def kick() -> None:
        forget_access(user_id, tenant_slug)
        relay.kick(user_id, channels_for(user_id, tenant_slug))

    transaction.on_commit(kick, robust=True)
