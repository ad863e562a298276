"""Benchmark of the messaging API's hot paths on a database of its own.

    .venv/bin/python bench/api.py --messages 100000
    .venv/bin/python bench/api.py --messages 100000 --database-url postgres://postgres@127.0.0.1:5432

It seeds one tenant of --members members with --messages messages in bulk, then measures
sends through the real action (do_send_message), the inbox page as the API builds it
(selectors.inbox_page + selectors.messages_json) and the unread count, over many users.
Each measure prints one line starting ``bench api <vendor>``; the last line holds them all.

Its database is its own: a SQLite file under var/bench/, or on PostgreSQL a database it
creates (``harbor_bench`` unless --pg-database says otherwise) through the ``postgres``
maintenance database and drops afterwards. The database named in the URL is never used.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
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
    parser.add_argument("--explain", action="store_true", help="print the reads' query plans")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)
    if args.database_url and urlsplit(args.database_url).scheme not in {
        "postgres",
        "postgresql",
    }:
        parser.error("--database-url must be a postgres:// URL (SQLite is the default)")
    if not args.pg_database.startswith("harbor_bench"):
        parser.error("--pg-database must start with harbor_bench, so no other database is hit")
    return args


# -- the database of its own -----------------------------------------------------------------


def _server_url(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + database))


def _pg_admin(url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(_server_url(url, "postgres"), autocommit=True) as conn:
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

    remove()
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    try:
        yield "sqlite"
    finally:
        _close_connections()
        if not args.keep:
            remove()


def setup_django(args: argparse.Namespace) -> None:
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
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


# -- seeding ---------------------------------------------------------------------------------


@contextlib.contextmanager
def timestamps_as_given() -> Iterator[None]:
    """Let bulk_create keep the created_at we give (auto_now_add would stamp "now")."""
    from messaging.models import Message

    created = Message._meta.get_field("created_at")
    updated = Message._meta.get_field("updated_at")
    saved = (created.auto_now_add, updated.auto_now)  # type: ignore[union-attr]
    created.auto_now_add = False  # type: ignore[union-attr]
    updated.auto_now = False  # type: ignore[union-attr]
    try:
        yield
    finally:
        created.auto_now_add, updated.auto_now = saved  # type: ignore[union-attr]


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


def seed(args: argparse.Namespace, rng: random.Random) -> dict[str, Any]:
    from django.contrib.auth.models import User
    from django.db import connection, transaction
    from django.utils import timezone

    from harbor_messaging.tenants.models import Membership, Tenant
    from messaging.models import Message, MessageRecipient

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

        now = timezone.now()
        span = timedelta(days=365).total_seconds()
        # Oldest first, so ids grow with time as they do in a live system.
        offsets = sorted((rng.random() * span for _ in range(args.messages)), reverse=True)
        deliveries = 0
        batch = 2000
        for start in range(0, args.messages, batch):
            chunk = offsets[start : start + batch]
            plans = []
            for offset in chunk:
                in_other = rng.random() < 0.1
                pool = other_ids if in_other else user_ids
                sender = rng.choice(pool)
                if not in_other and rng.random() < 0.005:
                    recipients = [u for u in pool if u != sender]  # a whole-tenant message
                    audience = Message.Audience.TENANT
                else:
                    count = rng.choices([1, 2, 3, 5, 10], weights=[60, 20, 10, 7, 3])[0]
                    recipients = rng.sample([u for u in pool if u != sender], count)
                    audience = Message.Audience.DIRECT
                created_at = now - timedelta(seconds=offset)
                plans.append(
                    (other if in_other else tenant, sender, recipients, audience, created_at)
                )
            messages = Message.objects.bulk_create(
                [
                    Message(
                        tenant=t,
                        sender_id=sender,
                        subject=sentence(rng, 2, 6).capitalize(),
                        body=sentence(rng, 8, 60),
                        audience=audience,
                        recipient_count=len(recipients),
                        created_at=created_at,
                        updated_at=created_at,
                    )
                    for t, sender, recipients, audience, created_at in plans
                ]
            )
            rows = []
            for message, (t, _, recipients, _, created_at) in zip(messages, plans, strict=True):
                age_days = (now - created_at).days
                for uid in recipients:
                    # Most of what is older than a week has been read; some is deleted.
                    read = rng.random() < (0.95 if age_days > 7 else 0.4)
                    rows.append(
                        MessageRecipient(
                            message_id=message.pk,
                            user_id=uid,
                            tenant=t,
                            created_at=created_at,
                            read_at=created_at + timedelta(hours=1) if read else None,
                            deleted_at=now if rng.random() < 0.02 else None,
                        )
                    )
            MessageRecipient.objects.bulk_create(rows, batch_size=5000)
            deliveries += len(rows)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {
        "tenant": tenant,
        "users": users,
        "deliveries": deliveries,
        "seconds": time.perf_counter() - started,
    }


# -- measuring -------------------------------------------------------------------------------


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
        world = seed(args, rng)
        tenant, users = world["tenant"], world["users"]
        print(
            f"{tag} seed messages={args.messages} deliveries={world['deliveries']} "
            f"members={args.members} seconds={world['seconds']:.1f}",
            flush=True,
        )

        def inbox(user: Any, cursor: str | None = None) -> Any:
            page = selectors.inbox_page(user=user, tenant=tenant, limit=args.page, cursor=cursor)
            selectors.messages_json(page.items, viewer=user, tenant_slug=tenant.slug)
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
        inbox_queries, inbox_sql = count_queries(lambda: inbox(users[0]))
        unread_queries, unread_sql = count_queries(lambda: unread(users[0]))
        print(
            f"{tag} inbox page={args.page} n={len(inbox_ms)} "
            f"p50_ms={percentile(inbox_ms, 0.5):.2f} p99_ms={percentile(inbox_ms, 0.99):.2f} "
            f"next_p50_ms={percentile(next_ms, 0.5):.2f} "
            f"next_p99_ms={percentile(next_ms, 0.99):.2f} queries={inbox_queries}",
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
            return actions.do_send_message(
                sender=sender,
                access=accesses[sender.pk],
                recipient_ids=rng.sample([i for i in ids if i != sender.pk], count),
                subject=sentence(rng, 2, 6),
                body=sentence(rng, 8, 60),
            )

        send_queries, _ = count_queries(lambda: send(users[1]))
        senders = [rng.choice(users) for _ in range(args.sends)]
        started = time.perf_counter()
        for sender in senders:
            send(sender)
        send_seconds = time.perf_counter() - started
        sends_per_s = args.sends / send_seconds
        publisher = settings.HARBOR_EVENT_PUBLISHER.rsplit(".", 1)[-1]
        print(
            f"{tag} sends n={args.sends} sends_per_s={sends_per_s:.1f} "
            f"mean_ms={send_seconds * 1000 / args.sends:.2f} queries={send_queries} "
            f"publisher={publisher}",
            flush=True,
        )

        if args.explain:
            for label, sql in (("inbox page", inbox_sql[0]), ("unread count", unread_sql[0])):
                print(f"\n-- {label}:\n{sql}\n{explain(vendor, sql)}\n", flush=True)

        print(
            f"{tag} messages={args.messages} sends_per_s={sends_per_s:.1f} "
            f"inbox_p50_ms={percentile(inbox_ms, 0.5):.2f} "
            f"inbox_p99_ms={percentile(inbox_ms, 0.99):.2f} "
            f"unread_p50_ms={percentile(unread_ms, 0.5):.2f} "
            f"unread_p99_ms={percentile(unread_ms, 0.99):.2f} "
            f"inbox_queries={inbox_queries} unread_queries={unread_queries}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
