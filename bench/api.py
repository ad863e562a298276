"""Benchmark of the messaging API's hot paths on a database of its own.

    .venv/bin/python bench/api.py --messages 100000
    .venv/bin/python bench/api.py --messages 100000 --database-url postgres://postgres@127.0.0.1:5432

It seeds one tenant of --members members with --messages messages in bulk, then measures
sends through the real action (do_send_message), the inbox page as the API builds it
(selectors.inbox_page + selectors.rows_json) and the unread count, over many users.
Each measure prints one line starting ``bench api <vendor>``; the last line holds them all.

Its database is its own: a SQLite file under var/bench/, or on PostgreSQL a database it
creates (``harbor_bench`` unless --pg-database says otherwise) through the ``postgres``
maintenance database and drops afterwards. The database named in the URL is never used.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import json
import os
import random
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "var" / "bench"
TENANT_SLUG = "bench"
OTHER_SLUG = "bench-other"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=100_000, help="messages to seed")
    parser.add_argument("--members", type=int, default=200, help="members of the tenant")
    parser.add_argument(
        "--database-url",
        default="",
        help="postgres://user@host:port (the server only); default: SQLite under var/bench/",
    )
    parser.add_argument("--pg-database", default="harbor_bench", help="database to create")
    parser.add_argument("--sends", type=int, default=500, help="messages sent through the action")
    parser.add_argument("--rounds", type=int, default=3, help="passes over all members per read")
    parser.add_argument("--page", type=int, default=50, help="inbox page size")
    parser.add_argument("--seed", type=int, default=20261201, help="random seed")
    parser.add_argument("--publisher", default="", help="HARBOR_EVENT_PUBLISHER for the sends")
    parser.add_argument(
        "--send-workers", type=int, default=0, help="processes sending at once (0: none)"
    )
    parser.add_argument("--worker-sends", type=int, default=200, help="sends per worker")
    parser.add_argument(
        "--worker-warmup",
        type=int,
        default=50,
        help="untimed sends each worker makes first, as a server's warm process has (0: none)",
    )
    parser.add_argument(
        "--broadcast-members",
        type=int,
        default=10_000,
        help="members of the tenant one broadcast goes to (0: no broadcast measure)",
    )
    parser.add_argument(
        "--tenant-sends",
        type=int,
        default=40,
        help="whole-tenant sends one after another to a tenant of --tenant-send-members (0: none)",
    )
    parser.add_argument(
        "--tenant-send-members", type=int, default=1000, help="members of that tenant"
    )
    parser.add_argument("--explain", action="store_true", help="print the reads' query plans")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure on the database a --keep run left, unseeded and kept (no broadcast or"
        " tenant-send measures: their tenants are there already)",
    )
    parser.add_argument(
        "--profile", default="", help="write a cProfile of the serial sends to this file"
    )
    args = parser.parse_args(argv)
    if args.database_url and urlsplit(args.database_url).scheme not in {
        "postgres",
        "postgresql",
    }:
        parser.error("--database-url must be a postgres:// URL (SQLite is the default)")
    if args.reuse:
        args.keep = True
        args.broadcast_members = args.tenant_sends = 0
    if not args.pg_database.startswith("harbor_bench"):
        parser.error("--pg-database must start with harbor_bench, so no other database is hit")
    return args


# -- the database of its own -----------------------------------------------------------------


def _server_url(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + database))


def _pg_admin(url: str, statement: str) -> None:
    import psycopg

    # The maintenance connection takes none of the project's ?options (pool=, ...).
    admin_url = urlunsplit(urlsplit(_server_url(url, "postgres"))._replace(query=""))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(statement)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _close_connections() -> None:
    with contextlib.suppress(Exception):  # Django may not have got as far as its settings
        from django.db import connections

        connections.close_all()


@contextlib.contextmanager
def own_database(args: argparse.Namespace) -> Iterator[str]:
    """Create the bench database, yield its vendor, and remove it afterwards."""
    if args.database_url:
        name = args.pg_database
        if not args.reuse:
            _pg_admin(args.database_url, f"DROP DATABASE IF EXISTS {_quote(name)} WITH (FORCE)")
            _pg_admin(args.database_url, f"CREATE DATABASE {_quote(name)}")
        os.environ["DATABASE_URL"] = _server_url(args.database_url, name)
        try:
            yield "postgresql"
        finally:
            _close_connections()
            if not args.keep:
                _pg_admin(args.database_url, f"DROP DATABASE IF EXISTS {_quote(name)} WITH (FORCE)")
        return
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    path = BENCH_DIR / f"bench-{args.messages}.sqlite3"

    def remove() -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)

    if not args.reuse:
        remove()
    elif not path.exists():
        raise SystemExit(f"--reuse: no {path}; run once with --keep first")
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    try:
        yield "sqlite"
    finally:
        _close_connections()
        if not args.keep:
            remove()


def setup_django(args: argparse.Namespace, *, migrate: bool = True) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "harbor_messaging.settings"
    # Not DEBUG: Django would keep every query in memory and time it.
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ.setdefault("DJANGO_SECRET_KEY", "harbor-bench-only-secret-key-0123456789abcdef")
    os.environ["HARBOR_DATA_DIR"] = str(BENCH_DIR)
    os.environ.setdefault("HARBOR_LOG_LEVEL", "WARNING")
    for name in ("REDIS_URL", "GRIP_URL"):
        os.environ.pop(name, None)
    if args.publisher:
        os.environ["HARBOR_EVENT_PUBLISHER"] = args.publisher
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    if not migrate:
        return
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


# -- seeding ---------------------------------------------------------------------------------


WORDS = [
    # A harbour office vocabulary, so bodies are realistic for search and rendering.
    "berth",
    "crane",
    "schedule",
    "vessel",
    "pilot",
    "cargo",
    "manifest",
    "customs",
    "tide",
    "crew",
    "shift",
    "inspection",
    "container",
    "reefer",
    "gate",
    "yard",
    "quay",
    "draft",
    "tug",
    "mooring",
    "invoice",
    "safety",
    "drill",
    "weather",
    "port",
    "arrival",
    "departure",
    "delay",
    "update",
    "confirm",
    "please",
    "thanks",
    "tomorrow",
    "morning",
    "today",
    "report",
]


def sentence(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high)))


LINK_SHARE = 0.05  # of messages whose body has a link (a MessageLink row each)
ATTACHMENT_SHARE = 0.03  # of messages with a file attached (a MessageAttachment row each)
CHUNK = 20_000


def words(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choices(WORDS, k=rng.randint(low, high)))


def write_rows(table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    """Rows straight into a table: COPY on PostgreSQL, one executemany on SQLite.

    The ORM's bulk_create builds a model instance per row; at a million messages and three
    million recipient rows that was most of the seeding (about 20 s per 100,000 messages).
    """
    from django.db import connection

    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    quoted = connection.ops.quote_name(table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {quoted} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {quoted} ({names}) VALUES ({marks})", rows)


def seed(args: argparse.Namespace, rng: random.Random) -> dict[str, Any]:
    from django.contrib.auth.models import User
    from django.core.management.color import no_style
    from django.db import connection, transaction
    from django.utils import timezone

    from attachments.models import MessageAttachment
    from harbor_messaging.media.models import MediaFile
    from harbor_messaging.tenants.models import Membership, Tenant
    from linkpreview.models import MessageLink
    from messaging.models import Message, MessageRecipient
    from messaging.rendering import RENDER_VERSION, render_body_html

    stamp: Callable[[Any], Any] = (
        (lambda d: d)
        if connection.vendor == "postgresql"
        else connection.ops.adapt_datetimefield_value
    )
    started = time.perf_counter()
    with transaction.atomic():
        tenant = Tenant.objects.create(slug=TENANT_SLUG, name="Bench Harbour")
        other = Tenant.objects.create(slug=OTHER_SLUG, name="Bench Other")
        User.objects.bulk_create(
            [
                User(
                    username=f"member{i:04d}",
                    first_name=f"Member{i}",
                    last_name="Bench",
                    email=f"member{i}@example.com",
                    password="!",  # unusable: nobody logs in here
                )
                for i in range(args.members)
            ],
            batch_size=1000,
        )
        users = list(User.objects.filter(username__startswith="member").order_by("id"))
        user_ids = [u.pk for u in users]
        names = {u.pk: f"{u.first_name} {u.last_name}" for u in users}
        Membership.objects.bulk_create(
            [
                Membership(
                    user=u,
                    tenant=tenant,
                    role=(Membership.Role.TENANT_ADMIN if i < 3 else Membership.Role.SUBSCRIBER),
                )
                for i, u in enumerate(users)
            ]
            # A quarter also belong to a second tenant, so the (user, tenant) indexes matter.
            + [Membership(user=u, tenant=other) for u in users[: max(2, args.members // 4)]],
            batch_size=1000,
        )
        other_ids = user_ids[: max(2, args.members // 4)]
        # One library file per tenant, attached to ATTACHMENT_SHARE of the messages.
        files = {
            t.pk: MediaFile.objects.create(
                tenant=t,
                owner=users[0],
                origin=MediaFile.Origin.MEDIA_LIBRARY,
                file=f"bench/{t.slug}.pdf",
                name="berth-plan.pdf",
                size=48_213,
                content_type="application/pdf",
                checksum="0" * 64,
                scan_state=MediaFile.ScanState.NOT_SCANNED,
            )
            for t in (tenant, other)
        }

        now = timezone.now()
        span = timedelta(days=365).total_seconds()
        # Oldest first, so ids grow with time as they do in a live system.
        offsets = sorted((rng.random() * span for _ in range(args.messages)), reverse=True)
        message_columns = [
            "id",
            "tenant_id",
            "sender_id",
            "subject",
            "body",
            "body_html",
            "body_html_version",
            "audience",
            "is_broadcast",
            "recipient_count",
            "recipients_shown",
            "has_attachments",
            "attachment_count",
            "created_at",
            "updated_at",
        ]
        recipient_columns = ["message_id", "user_id", "tenant_id", "created_at", "read_at"]
        recipient_columns.append("deleted_at")
        deliveries = 0
        next_id = 1
        for start in range(0, args.messages, CHUNK):
            message_rows: list[tuple[Any, ...]] = []
            recipient_rows: list[tuple[Any, ...]] = []
            links: list[MessageLink] = []
            attachments: list[MessageAttachment] = []
            for offset in offsets[start : start + CHUNK]:
                message_id, next_id = next_id, next_id + 1
                in_other = rng.random() < 0.1
                pool = other_ids if in_other else user_ids
                t = other if in_other else tenant
                sender = rng.choice(pool)
                if not in_other and rng.random() < 0.005:
                    recipients = [u for u in pool if u != sender]  # a whole-tenant message
                    audience = Message.Audience.TENANT
                    shown = None
                else:
                    count = rng.choices([1, 2, 3, 5, 10], weights=[60, 20, 10, 7, 3])[0]
                    recipients = rng.sample([u for u in pool if u != sender], count)
                    audience = Message.Audience.DIRECT
                    shown = json.dumps([{"id": u, "name": names[u]} for u in recipients])
                created_at = now - timedelta(seconds=offset)
                body = words(rng, 8, 60)
                if rng.random() < LINK_SHARE:
                    url = f"https://example.org/berth/{rng.randint(1, 500)}"
                    body = f"{body} {url}"
                    links.append(
                        MessageLink(
                            message_id=message_id,
                            position=0,
                            url=url,
                            normalized_url=url,
                            domain="example.org",
                            status=MessageLink.Status.UNAVAILABLE,
                        )
                    )
                    body_html = render_body_html(body)
                else:
                    # Words and single spaces only: the renderer gives the text back as it is.
                    body_html = body
                attached = rng.random() < ATTACHMENT_SHARE
                if attached:
                    attachments.append(
                        MessageAttachment(
                            message_id=message_id,
                            media_file=files[t.pk],
                            attachment_type=MessageAttachment.Type.MEDIA_LIBRARY,
                            file_name="berth-plan.pdf",
                            file_size=48_213,
                            content_type="application/pdf",
                        )
                    )
                message_rows.append(
                    (
                        message_id,
                        t.pk,
                        sender,
                        words(rng, 2, 6).capitalize(),
                        body,
                        body_html,
                        RENDER_VERSION,
                        audience,
                        False,
                        len(recipients),
                        shown,
                        attached,
                        int(attached),
                        stamp(created_at),
                        stamp(created_at),
                    )
                )
                age_days = (now - created_at).days
                read_share = 0.95 if age_days > 7 else 0.4
                read_at = stamp(created_at + timedelta(hours=1))
                deleted_at = stamp(now)
                created = stamp(created_at)
                for uid in recipients:
                    # Most of what is older than a week has been read; some is deleted.
                    recipient_rows.append(
                        (
                            message_id,
                            uid,
                            t.pk,
                            created,
                            read_at if rng.random() < read_share else None,
                            deleted_at if rng.random() < 0.02 else None,
                        )
                    )
            write_rows(Message._meta.db_table, message_columns, message_rows)
            write_rows(MessageRecipient._meta.db_table, recipient_columns, recipient_rows)
            MessageLink.objects.bulk_create(links, batch_size=2000)
            MessageAttachment.objects.bulk_create(attachments, batch_size=2000)
            deliveries += len(recipient_rows)
        # The ids were given, so the sequence must move past them for the sends.
        with connection.cursor() as cursor:
            for statement in connection.ops.sequence_reset_sql(no_style(), [Message]):
                cursor.execute(statement)
    assert render_body_html("berth crane tide") == "berth crane tide"
    with connection.cursor() as cursor:
        # On PostgreSQL also VACUUM, as autovacuum would have done to a live table long
        # since: without the visibility map the unread count's partial index cannot be
        # read index-only and each of its ~750 rows a user costs a heap visit (at 1M).
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
        if connection.vendor == "postgresql":
            # The seed's gigabyte of writes flushed now, as a live database's would have been
            # long since; else the checkpoint they start runs under the timed sends and
            # their commits wait on its writes (docs/performance.md).
            cursor.execute("CHECKPOINT")
    return {
        "tenant": tenant,
        "users": users,
        "deliveries": deliveries,
        "seconds": time.perf_counter() - started,
    }


def seeded(args: argparse.Namespace) -> dict[str, Any]:
    """What ``seed`` returns, read from a database an earlier run seeded and kept."""
    from django.contrib.auth.models import User

    from harbor_messaging.tenants.models import Tenant
    from messaging.models import Message, MessageRecipient

    started = time.perf_counter()
    tenant = Tenant.objects.filter(slug=TENANT_SLUG).first()
    if tenant is None:
        raise SystemExit("--reuse: the database holds no seeded tenant; run once with --keep")
    found = Message.objects.count()
    if found < args.messages:
        raise SystemExit(f"--reuse: {found} messages seeded, fewer than --messages")
    return {
        "tenant": tenant,
        "users": list(User.objects.filter(username__startswith="member").order_by("id")),
        "deliveries": MessageRecipient.objects.filter(tenant=tenant).count(),
        "seconds": time.perf_counter() - started,
    }


# -- concurrent sends and broadcasts -------------------------------------------------------


def _send_worker(
    index: int, argv: list[str], ready: Any, go: Any, sends: int, results: Any
) -> None:
    """One sending process: Django and a database connection of its own, then ``sends``
    messages through do_send_message once ``go`` is set; puts its (start, end) wall times."""
    args = parse_args(argv)
    setup_django(args, migrate=False)
    from django.contrib.auth.models import User

    from harbor_messaging.tenants.models import Tenant
    from harbor_messaging.tenants.selectors import tenant_access
    from messaging import actions

    rng = random.Random(args.seed + index)
    tenant = Tenant.objects.get(slug=TENANT_SLUG)
    users = list(User.objects.filter(username__startswith="member").order_by("id"))
    accesses = {u.pk: tenant_access(u, tenant.slug) for u in users}
    ids = [u.pk for u in users]
    plans = []
    for _ in range(args.worker_warmup + sends):
        sender = rng.choice(users)
        count = rng.choices([1, 2, 3, 5], weights=[60, 20, 15, 5])[0]
        recipients = rng.sample([i for i in ids if i != sender.pk], count)
        plans.append((sender, recipients, sentence(rng, 2, 6), sentence(rng, 8, 60)))

    def send_all(planned: list[tuple[Any, list[int], str, str]]) -> None:
        for sender, recipients, subject, body in planned:
            actions.do_send_message(
                sender=sender,
                access=accesses[sender.pk],
                recipient_ids=recipients,
                subject=subject,
                body=body,
            )

    # Untimed: a fresh process's first sends prepare its statements on the server (psycopg
    # prepares a text on its fifth run) and fill its caches, which a server's processes,
    # long running, have done long since. Without it, 1,000 timed sends counted them.
    send_all(plans[: args.worker_warmup])
    ready.put(index)
    go.wait()
    started = time.time()
    send_all(plans[args.worker_warmup :])
    results.put((started, time.time()))


def concurrent_sends(args: argparse.Namespace) -> float:
    """Sends per second of --send-workers processes sending at once (aggregate)."""
    import multiprocessing

    from django.db import connections

    connections.close_all()
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: Django set up anew
    go = context.Event()
    results = context.Queue()
    ready = context.Queue()
    argv = sys.argv[1:]
    workers = [
        context.Process(target=_send_worker, args=(i, argv, ready, go, args.worker_sends, results))
        for i in range(args.send_workers)
    ]
    for worker in workers:
        worker.start()
    # Each worker sets itself up and plans its sends first; all start together.
    for _ in workers:
        ready.get(timeout=300)
    go.set()
    spans = [results.get(timeout=600) for _ in workers]
    for worker in workers:
        worker.join()
    if any(w.exitcode for w in workers):
        raise SystemExit("a send worker failed")
    elapsed = max(end for _, end in spans) - min(start for start, _ in spans)
    return args.send_workers * args.worker_sends / elapsed


def tenant_with_members(slug: str, prefix: str, n: int) -> tuple[Any, list[int]]:
    """A tenant of its own with ``n`` members (the first a tenant admin), analysed."""
    from django.contrib.auth.models import User
    from django.db import connection, transaction

    from harbor_messaging.tenants.models import Membership, Tenant

    with transaction.atomic():
        tenant = Tenant.objects.create(slug=slug, name=f"Bench {prefix}")
        User.objects.bulk_create(
            [
                User(username=f"{prefix}{i:05d}", first_name=f"{prefix}{i}", password="!")
                for i in range(n)
            ],
            batch_size=2000,
        )
        members = list(
            User.objects.filter(username__startswith=prefix)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        Membership.objects.bulk_create(
            [
                Membership(
                    user_id=uid,
                    tenant=tenant,
                    role=(Membership.Role.TENANT_ADMIN if i == 0 else Membership.Role.SUBSCRIBER),
                )
                for i, uid in enumerate(members)
            ],
            batch_size=2000,
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return tenant, members


class PublishClock:
    """When a send handed its events to the publisher (after its commit, before the
    members' rows of a whole-tenant message: messaging/delivery.py), as perf_counter."""

    def __init__(self) -> None:
        from messaging.events import get_publisher

        publisher: Any = get_publisher()
        original = publisher.publish
        self.at: float | None = None

        def publish(prepared: Any) -> None:
            if self.at is None:
                self.at = time.perf_counter()
            original(prepared)

        publisher.publish = publish

    def since(self, started: float) -> float:
        """Seconds from ``started`` to the first publish after it; resets."""
        assert self.at is not None, "nothing was published"
        took, self.at = self.at - started, None
        return took


def tenant_sends(args: argparse.Namespace) -> tuple[list[float], list[float]]:
    """--tenant-sends whole-tenant messages, one after another, to a tenant of
    --tenant-send-members (the case bench/sse.py times end to end): each send's ms to its
    return (the members' rows stored) and to its publish (what subscribers wait for).

    A series rather than one: every send adds a row to each member's inbox indexes, so the
    later sends write to more pages than the first, and the database's checkpoints fall
    on some of them and not on others."""
    from django.contrib.auth.models import User

    from harbor_messaging.tenants.selectors import tenant_access
    from messaging import actions

    tenant, members = tenant_with_members("bench-mid", "mid", args.tenant_send_members)
    admin = User.objects.get(pk=members[0])
    access = tenant_access(admin, tenant.slug)
    took, published = [], []
    clock = PublishClock()
    for i in range(args.tenant_sends):
        started = time.perf_counter()
        actions.do_send_message(
            sender=admin, access=access, recipient_ids="all", subject="Shift", body=f"Change {i}."
        )
        took.append((time.perf_counter() - started) * 1000)
        published.append(clock.since(started) * 1000)
    return took, published


def broadcasts(args: argparse.Namespace) -> dict[str, float]:
    """A whole-tenant message to --broadcast-members members, through do_send_message with
    recipient_ids="all" and through the admin's do_send_broadcast: seconds from the call to
    its return, which is after the commit, the publish and the members' rows, and to the
    publish (``_published``: what the members' streams wait for)."""
    from django.contrib.auth.models import User
    from django.db import transaction

    from harbor_messaging.tenants.selectors import tenant_access
    from messaging import actions
    from messaging.broadcasts import do_send_broadcast
    from messaging.models import Broadcast

    n = args.broadcast_members
    big, members = tenant_with_members("bench-big", "big", n)
    with transaction.atomic():
        root = User.objects.create_superuser("bench-root", "root@example.com", None)
    admin = User.objects.get(pk=members[0])
    access = tenant_access(admin, big.slug)
    clock = PublishClock()
    started = time.perf_counter()
    message = actions.do_send_message(
        sender=admin, access=access, recipient_ids="all", subject="All hands", body="Drill at 10."
    )
    send_s = time.perf_counter() - started
    send_published_s = clock.since(started)
    assert message.recipient_count == n - 1
    broadcast = Broadcast.objects.create(sender=root, subject="Port closed", body="Storm.")
    broadcast.tenants.add(big)
    started = time.perf_counter()
    [sent] = do_send_broadcast(user=root, broadcast=broadcast)
    admin_s = time.perf_counter() - started
    admin_published_s = clock.since(started)
    assert sent.recipient_count == n
    from messaging.models import MessageRecipient

    # The rows were stored before the calls returned.
    assert MessageRecipient.objects.filter(message__in=[message, sent]).count() == 2 * n - 1
    key = f"{n // 1000}k" if n % 1000 == 0 else str(n)
    return {
        f"broadcast_{key}_s": send_s,
        f"broadcast_{key}_published_s": send_published_s,
        f"admin_broadcast_{key}_s": admin_s,
        f"admin_broadcast_{key}_published_s": admin_published_s,
    }


# -- measuring -------------------------------------------------------------------------------


def backend_pid() -> int | None:
    """This connection's PostgreSQL backend process, or None on SQLite."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def backend_cpu_seconds(pid: int | None) -> float | None:
    """User and system CPU of a process on this machine, or None where /proc cannot say."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # utime and stime are fields 14 and 15 of stat(5), 12 and 13 after the name.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000.0


def count_queries(fn: Callable[[], Any]) -> tuple[int, list[str]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries), [q["sql"] for q in ctx.captured_queries]


def explain(vendor: str, sql: str) -> str:
    from django.db import connection

    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if vendor == "postgresql" else "EXPLAIN QUERY PLAN "
    with connection.cursor() as cursor:
        cursor.execute(prefix + sql)
        rows = cursor.fetchall()
    if vendor == "postgresql":
        return "\n".join(r[0] for r in rows)
    return "\n".join(str(r[-1]) for r in rows)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    rng = random.Random(args.seed)
    with own_database(args) as vendor:
        setup_django(args)
        from django.conf import settings

        from harbor_messaging.tenants.selectors import tenant_access
        from messaging import actions, selectors

        tag = f"bench api {vendor}"
        world = seeded(args) if args.reuse else seed(args, rng)
        tenant, users = world["tenant"], world["users"]
        print(
            f"{tag} seed messages={args.messages} deliveries={world['deliveries']} "
            f"members={args.members} seconds={world['seconds']:.1f}",
            flush=True,
        )

        def inbox(user: Any, cursor: str | None = None) -> Any:
            page = selectors.inbox_page(user=user, tenant=tenant, limit=args.page, cursor=cursor)
            selectors.rows_json(page.items, viewer=user)
            return page

        def unread(user: Any) -> int:
            return selectors.unread_count_for(user.pk, tenant)

        # The seeding's garbage is no part of a server process: collect it and freeze what
        # is left, so that the timings below do not carry full collections of the seed data.
        del world
        gc.collect()
        gc.freeze()
        # Warm the caches and the connection before anything is timed.
        for user in users[:10]:
            inbox(user)
            unread(user)

        readers = [u for _ in range(args.rounds) for u in rng.sample(users, len(users))]
        inbox_ms = [timed(lambda u=u: inbox(u)) for u in readers]
        cursors = {u.pk: inbox(u).next_cursor for u in users}
        next_ms = [timed(lambda u=u: inbox(u, cursors[u.pk])) for u in readers if cursors[u.pk]]
        unread_ms = [timed(lambda u=u: unread(u)) for u in readers]
        # The worst page, not the first user's: a page with direct messages, links and
        # attachments on it makes the most queries.
        inbox_counts = [count_queries(lambda u=u: inbox(u)) for u in users]
        inbox_queries, inbox_sql = max(inbox_counts, key=lambda c: c[0])
        inbox_fewest = min(c[0] for c in inbox_counts)
        unread_queries, unread_sql = count_queries(lambda: unread(users[0]))
        print(
            f"{tag} inbox page={args.page} n={len(inbox_ms)} "
            f"p50_ms={percentile(inbox_ms, 0.5):.2f} p99_ms={percentile(inbox_ms, 0.99):.2f} "
            f"next_p50_ms={percentile(next_ms, 0.5):.2f} "
            f"next_p99_ms={percentile(next_ms, 0.99):.2f} queries={inbox_queries} "
            f"fewest_queries={inbox_fewest}",
            flush=True,
        )
        print(
            f"{tag} unread n={len(unread_ms)} p50_ms={percentile(unread_ms, 0.5):.2f} "
            f"p99_ms={percentile(unread_ms, 0.99):.2f} queries={unread_queries}",
            flush=True,
        )

        accesses = {u.pk: tenant_access(u, tenant.slug) for u in users}
        ids = [u.pk for u in users]

        def send(sender: Any) -> Any:
            count = rng.choices([1, 2, 3, 5], weights=[60, 20, 15, 5])[0]
            sender_id = sender.pk
            return actions.do_send_message(
                sender=sender,
                access=accesses[sender.pk],
                # sender.pk once: a model's pk is a property, 200 calls a send were ~0.1 ms.
                recipient_ids=rng.sample([i for i in ids if i != sender_id], count),
                subject=sentence(rng, 2, 6),
                body=sentence(rng, 8, 60),
            )

        send_queries, _ = count_queries(lambda: send(users[1]))
        senders = [rng.choice(users) for _ in range(args.sends)]
        profiler = cProfile.Profile() if args.profile else None
        backend = backend_pid()
        db_cpu = backend_cpu_seconds(backend)
        cpu = time.process_time()
        started = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        for sender in senders:
            send(sender)
        if profiler is not None:
            profiler.disable()
        send_seconds = time.perf_counter() - started
        # CPU a send costs, less noisy than its time on shared cores: this process's, and on
        # a local PostgreSQL its backend's (from /proc).
        cpu_ms = (time.process_time() - cpu) * 1000 / args.sends
        db_cpu_after = backend_cpu_seconds(backend)
        db_cpu_ms = (
            f" db_cpu_ms={(db_cpu_after - db_cpu) * 1000 / args.sends:.2f}"
            if db_cpu is not None and db_cpu_after is not None
            else ""
        )
        if profiler is not None:
            profiler.dump_stats(args.profile)
        sends_per_s = args.sends / send_seconds
        publisher = settings.HARBOR_EVENT_PUBLISHER.rsplit(".", 1)[-1]
        print(
            f"{tag} sends n={args.sends} sends_per_s={sends_per_s:.1f} "
            f"mean_ms={send_seconds * 1000 / args.sends:.2f} cpu_ms={cpu_ms:.2f}{db_cpu_ms} "
            f"queries={send_queries} publisher={publisher}",
            flush=True,
        )

        extra = ""
        if args.send_workers:
            workers_per_s = concurrent_sends(args)
            print(
                f"{tag} concurrent_sends workers={args.send_workers} "
                f"n={args.send_workers * args.worker_sends} sends_per_s={workers_per_s:.1f}",
                flush=True,
            )
            extra += f" workers={args.send_workers} workers_sends_per_s={workers_per_s:.1f}"
        if args.tenant_sends:
            took, published = tenant_sends(args)
            series = {
                "tenant_send_p50_ms": percentile(took, 0.5),
                "tenant_send_p90_ms": percentile(took, 0.9),
                "tenant_publish_p50_ms": percentile(published, 0.5),
                "tenant_publish_p90_ms": percentile(published, 0.9),
            }
            print(
                f"{tag} tenant_sends members={args.tenant_send_members} n={args.tenant_sends} "
                + " ".join(f"{k}={v:.1f}" for k, v in series.items())
                + f" max_ms={max(took):.1f}",
                flush=True,
            )
            extra += " " + " ".join(f"{k}={v:.1f}" for k, v in series.items())
        if args.broadcast_members:
            timings = broadcasts(args)
            print(
                f"{tag} broadcast members={args.broadcast_members} "
                + " ".join(f"{k}={v:.3f}" for k, v in timings.items()),
                flush=True,
            )
            extra += " " + " ".join(f"{k}={v:.3f}" for k, v in timings.items())

        if args.explain:
            for label, sql in (("inbox page", inbox_sql[0]), ("unread count", unread_sql[0])):
                print(f"\n-- {label}:\n{sql}\n{explain(vendor, sql)}\n", flush=True)

        print(
            f"{tag} messages={args.messages} sends_per_s={sends_per_s:.1f} "
            f"inbox_p50_ms={percentile(inbox_ms, 0.5):.2f} "
            f"inbox_p99_ms={percentile(inbox_ms, 0.99):.2f} "
            f"unread_p50_ms={percentile(unread_ms, 0.5):.2f} "
            f"unread_p99_ms={percentile(unread_ms, 0.99):.2f} "
            f"inbox_queries={inbox_queries} unread_queries={unread_queries}{extra}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
