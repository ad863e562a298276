from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from messaging.stream_storage import RETENTION, trim_events


class Command(BaseCommand):
    help = (
        "Trim what Harbor Messaging no longer needs: stream events past their retention, "
        "desktop uploads never attached, stale link previews; and store the recipient rows "
        "of whole-tenant messages a crash left without them; fold the unread counts' rows."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--events", action="store_true", help="Trim stream events only.")
        parser.add_argument(
            "--event-hours",
            type=float,
            default=RETENTION.total_seconds() / 3600,
            help="Keep stream events this many hours (at least 24; default %(default)s).",
        )
        # Attachments: desktop uploads never attached to a message.
        parser.add_argument(
            "--uploads", action="store_true", help="Remove unattached uploads only."
        )
        parser.add_argument(
            "--upload-hours",
            type=float,
            default=None,
            help="Grace period for unattached uploads, hours (default HARBOR_UPLOAD_GRACE_HOURS).",
        )
        # Link previews: cached previews expired a day ago that no message links to.
        parser.add_argument(
            "--previews", action="store_true", help="Delete stale link previews only."
        )
        # Whole-tenant messages whose process ended between their commit and their rows.
        parser.add_argument(
            "--deliveries",
            action="store_true",
            help="Store the rows of whole-tenant messages still pending only.",
        )
        # Unread counts: the rows of users no read has folded (messaging/counts.py).
        parser.add_argument(
            "--counts", action="store_true", help="Fold the unread counts' rows only."
        )
        # Never with the rest: it holds writes to the recipient rows while it reads them all.
        parser.add_argument(
            "--recount",
            action="store_true",
            help="Only set right the unread counts that differ from the unread rows (after a"
            " bulk load with the triggers off); holds writes to recipient rows meanwhile.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["recount"]:
            from messaging.counts import recount

            fixed = recount()
            self.stdout.write(f"counts: set right the unread counts of {fixed} users")
            return
        # With no flag, everything; each flag alone does its part only.
        flags = ("events", "uploads", "previews", "deliveries", "counts")
        every = not any(options.get(flag) for flag in flags)
        if options["events"] or every:
            hours = max(24.0, options["event_hours"])
            deleted = trim_events(older_than=dt.timedelta(hours=hours))
            self.stdout.write(f"events: trimmed {deleted} older than {hours:g} h")
        if options["uploads"] or every:
            from django.conf import settings
            from django.utils import timezone

            from harbor_messaging.media.actions import do_delete_unattached_uploads

            grace = options["upload_hours"]
            grace = settings.HARBOR_UPLOAD_GRACE_HOURS if grace is None else max(0.0, grace)
            removed = do_delete_unattached_uploads(
                older_than=timezone.now() - dt.timedelta(hours=grace)
            )
            self.stdout.write(f"uploads: removed {removed} never attached after {grace:g} h")
        if options["previews"] or every:
            from linkpreview.actions import do_trim_previews

            trimmed = do_trim_previews()
            self.stdout.write(f"previews: deleted {trimmed} stale previews no message links to")
        if options["deliveries"] or every:
            from messaging.delivery import do_deliver_all_pending

            delivered = do_deliver_all_pending()
            self.stdout.write(
                f"deliveries: stored the rows of {delivered} whole-tenant messages left pending"
            )
        if options["counts"] or every:
            from messaging.counts import fold_all

            folded = fold_all()
            self.stdout.write(f"counts: folded the unread count rows of {folded} users")
