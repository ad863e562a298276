from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from harbor_messaging.errors import HarborError
from harbor_messaging.tenants.actions import do_create_tenant


class Command(BaseCommand):
    help = "Create a Harbor tenant (or rename the one with that slug)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            tenant, created = do_create_tenant(slug=options["slug"], name=options["name"])
        except HarborError as error:
            raise CommandError(error.message) from error
        verb = "Created" if created else "Updated"
        self.stdout.write(f"{verb} tenant {tenant.slug} ({tenant.name})")
