from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from harbor_messaging.tenants.actions import do_create_global_admin


class Command(BaseCommand):
    help = "Create a global admin (a Django superuser), or reset one's password."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--password", required=True)
        parser.add_argument("--email")

    def handle(self, *args: Any, **options: Any) -> None:
        user = do_create_global_admin(
            username=options["username"], password=options["password"], email=options["email"]
        )
        self.stdout.write(f"{user.get_username()} is a global admin")
