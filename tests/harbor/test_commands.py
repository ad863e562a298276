"""The set-up commands of API.md, as scripts and operators run them."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError

from harbor_messaging.tenants.models import Membership, Tenant
from messaging.models import Message, MessageRecipient

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


# -- create_tenant -----------------------------------------------------------------------------


def test_create_tenant_creates_then_renames() -> None:
    assert "Created tenant acme (Acme Shipping)" in run(
        "create_tenant", "acme", "--name", "Acme Shipping"
    )
    assert Tenant.objects.get(slug="acme").name == "Acme Shipping"
    assert "Updated tenant acme (Acme Ltd)" in run("create_tenant", "acme", "--name", "Acme Ltd")
    assert Tenant.objects.count() == 1
    assert Tenant.objects.get().name == "Acme Ltd"


def test_create_tenant_without_a_name_uses_the_slug() -> None:
    run("create_tenant", "globex")
    assert Tenant.objects.get(slug="globex").name == "globex"


@pytest.mark.parametrize(
    "slug", ["Acme", "acme shipping", "acme_1", "", "a" * 51, "acme/..", "äcme", "acme\n"]
)
def test_create_tenant_refuses_a_bad_slug(slug: str) -> None:
    with pytest.raises(CommandError, match="slug"):
        run("create_tenant", slug, "--name", "X")
    assert Tenant.objects.count() == 0


def test_create_tenant_accepts_the_longest_slug() -> None:
    run("create_tenant", "a-" * 25)
    assert Tenant.objects.filter(slug="a-" * 25).exists()


# -- create_member -----------------------------------------------------------------------------


def test_create_member_as_subscriber_by_default() -> None:
    run("create_tenant", "acme")
    out = run(
        "create_member", "ann", "--tenant", "acme", "--password", "pw-123456",
        "--email", "ann@example.com", "--name", "Ann Lee",
    )  # fmt: skip
    assert "ann is subscriber in acme" in out
    user = User.objects.get(username="ann")
    assert user.check_password("pw-123456")
    assert (user.email, user.first_name, user.last_name) == ("ann@example.com", "Ann", "Lee")
    assert not user.is_superuser and not user.is_staff
    assert Membership.objects.get(user=user).role == "subscriber"


def test_create_member_roles_and_several_tenants() -> None:
    run("create_tenant", "acme")
    run("create_tenant", "globex")
    run("create_member", "cy", "--tenant", "acme", "--role", "tenant_admin", "--password", "p1")
    run("create_member", "cy", "--tenant", "globex", "--role", "subscriber")
    roles = dict(Membership.objects.filter(user__username="cy").values_list("tenant__slug", "role"))
    assert roles == {"acme": "tenant_admin", "globex": "subscriber"}
    # Without --password the password stays; a second run changes the role, not the count.
    assert User.objects.get(username="cy").check_password("p1")
    run("create_member", "cy", "--tenant", "acme", "--role", "subscriber")
    assert Membership.objects.get(user__username="cy", tenant__slug="acme").role == "subscriber"
    assert Membership.objects.filter(user__username="cy").count() == 2
    assert User.objects.filter(username="cy").count() == 1


def test_create_member_in_an_unknown_tenant_is_a_command_error() -> None:
    with pytest.raises(CommandError, match="nowhere"):
        run("create_member", "ann", "--tenant", "nowhere", "--password", "pw")
    assert not User.objects.filter(username="ann").exists()


def test_create_member_with_an_unknown_role_is_refused() -> None:
    run("create_tenant", "acme")
    with pytest.raises(CommandError):
        run("create_member", "ann", "--tenant", "acme", "--role", "owner")
    assert Membership.objects.count() == 0


def test_create_member_needs_a_tenant() -> None:
    with pytest.raises(CommandError):
        run("create_member", "ann")


def test_a_new_member_can_log_in(client: Any) -> None:
    run("create_tenant", "acme")
    run("create_member", "ann", "--tenant", "acme", "--password", "pw-123456")
    assert client.login(username="ann", password="pw-123456")


# -- create_global_admin -----------------------------------------------------------------------


def test_create_global_admin_makes_a_superuser_and_resets_the_password() -> None:
    assert "root is a global admin" in run("create_global_admin", "root", "--password", "one")
    user = User.objects.get(username="root")
    assert user.is_superuser and user.is_staff and user.is_active
    assert user.check_password("one")
    run("create_global_admin", "root", "--password", "two", "--email", "root@example.com")
    user.refresh_from_db()
    assert user.check_password("two")
    assert user.email == "root@example.com"
    assert User.objects.filter(username="root").count() == 1


def test_create_global_admin_needs_a_password() -> None:
    with pytest.raises(CommandError):
        run("create_global_admin", "root")
    assert not User.objects.exists()


def test_an_existing_member_becomes_a_global_admin_and_stays_a_member() -> None:
    run("create_tenant", "acme")
    run("create_member", "ann", "--tenant", "acme", "--password", "pw")
    run("create_global_admin", "ann", "--password", "pw2")
    assert User.objects.get(username="ann").is_superuser
    assert Membership.objects.filter(user__username="ann", tenant__slug="acme").exists()


# -- seed_demo ---------------------------------------------------------------------------------


def _counts() -> tuple[int, ...]:
    return (
        Tenant.objects.count(),
        User.objects.count(),
        Membership.objects.count(),
        Message.objects.count(),
        MessageRecipient.objects.count(),
    )


def test_seed_demo_creates_tenants_users_and_messages(client: Any) -> None:
    run("seed_demo")
    assert set(Tenant.objects.values_list("slug", flat=True)) == {"acme", "globex"}
    assert {"ann", "bo", "cy", "dee", "eli", "admin"} <= set(
        User.objects.values_list("username", flat=True)
    )
    assert User.objects.get(username="admin").is_superuser
    assert set(
        Membership.objects.filter(user__username="cy").values_list("tenant__slug", flat=True)
    ) == {"acme", "globex"}
    assert Message.objects.filter(tenant__slug="acme").exists()
    assert Message.objects.filter(tenant__slug="globex").exists()
    # Replies joined their threads.
    assert Message.objects.filter(reply_to__isnull=False, thread_root__isnull=False).exists()
    # Every recipient is a member of the message's tenant.
    for row in MessageRecipient.objects.select_related("message"):
        assert row.tenant_id == row.message.tenant_id
        assert Membership.objects.filter(user_id=row.user_id, tenant_id=row.tenant_id).exists()
    assert client.login(username="bo", password="harbor-demo")


def test_seed_demo_twice_duplicates_nothing() -> None:
    run("seed_demo")
    first = _counts()
    out = run("seed_demo")
    assert "already there" in out
    assert _counts() == first


def test_seed_demo_with_its_own_password(client: Any) -> None:
    run("seed_demo", "--password", "another-pass-1")
    assert client.login(username="dee", password="another-pass-1")
