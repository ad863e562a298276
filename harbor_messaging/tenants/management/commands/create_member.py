from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from harbor_messaging.errors import HarborError
from harbor_messaging.tenants.actions import do_create_member
from harbor_messaging.tenants.models import Membership


class Command(BaseCommand):
    help = "Create a user (or update one) and make them a member of a tenant."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--tenant", required=True)
        parser.add_argument(
            "--role", choices=Membership.Role.values, default=Membership.Role.SUBSCRIBER
        )
        parser.add_argument("--password")
        parser.add_argument("--email")
        parser.add_argument("--name", help="Display name, e.g. 'Ann Lee'")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            membership = do_create_member(
                username=options["username"],
                tenant_slug=options["tenant"],
                role=options["role"],
                password=options["password"],
                email=options["email"],
                name=options["name"],
            )
        except HarborError as error:
            raise CommandError(error.message) from error
        self.stdout.write(
            f"{membership.user.get_username()} is {membership.role} in {membership.tenant.slug}"
        )
