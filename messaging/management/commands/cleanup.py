from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from messaging.stream_storage import RETENTION, trim_events


class Command(BaseCommand):
    help = "Trim what Harbor Messaging no longer needs: stream events past their retention."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--events", action="store_true", help="Trim stream events only.")
        parser.add_argument(
            "--event-hours",
            type=float,
            default=RETENTION.total_seconds() / 3600,
            help="Keep stream events this many hours (at least 24; default %(default)s).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        every = not options["events"]
        if options["events"] or every:
            hours = max(24.0, options["event_hours"])
            deleted = trim_events(older_than=dt.timedelta(hours=hours))
            self.stdout.write(f"events: trimmed {deleted} older than {hours:g} h")
