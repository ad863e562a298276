"""Run the link preview worker as a process of its own (production: several may run)."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from linkpreview.worker import PreviewWorker


class Command(BaseCommand):
    help = "Fetch pending link previews: until stopped, or with --once until none wait."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Drain the queue once, then exit.")
        parser.add_argument(
            "--batch", type=int, default=4, help="Previews claimed at a time (default 4)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        worker = PreviewWorker(batch=max(1, options["batch"]))
        if options["once"]:
            done = worker.drain()
            self.stdout.write(f"previews: {done} fetched by {worker.worker_id}")
            return
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        self.stdout.write(f"link preview worker {worker.worker_id} started")
        worker.run_forever(stop=stop)
