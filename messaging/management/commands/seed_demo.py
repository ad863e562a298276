from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from harbor_messaging.tenants.actions import (
    do_create_global_admin,
    do_create_member,
    do_create_tenant,
)
from harbor_messaging.tenants.models import Membership
from harbor_messaging.tenants.selectors import tenant_access
from messaging.actions import ALL, do_send_message
from messaging.models import Message

DEMO_PASSWORD = "harbor-demo"

TENANTS = [("acme", "Acme Shipping"), ("globex", "Globex Harbour Services")]
MEMBERS = [
    # username, display name, tenant, role
    ("ann", "Ann Lee", "acme", Membership.Role.TENANT_ADMIN),
    ("bo", "Bo Chan", "acme", Membership.Role.SUBSCRIBER),
    ("cy", "Cy Okafor", "acme", Membership.Role.SUBSCRIBER),
    ("cy", "Cy Okafor", "globex", Membership.Role.SUBSCRIBER),
    ("dee", "Dee Novak", "globex", Membership.Role.TENANT_ADMIN),
    ("eli", "Eli Sato", "globex", Membership.Role.SUBSCRIBER),
]


class Command(BaseCommand):
    help = "Create demo tenants, users and messages (safe to run again)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--password", default=DEMO_PASSWORD)

    def handle(self, *args: Any, **options: Any) -> None:
        password = options["password"]
        for slug, name in TENANTS:
            do_create_tenant(slug=slug, name=name)
        users = {}
        for username, name, slug, role in MEMBERS:
            membership = do_create_member(
                username=username,
                tenant_slug=slug,
                role=role,
                password=password,
                email=f"{username}@example.com",
                name=name,
            )
            users[username] = membership.user
        do_create_global_admin(username="admin", password=password, email="admin@example.com")

        if Message.objects.filter(tenant__slug__in=[s for s, _ in TENANTS]).exists():
            self.stdout.write("Demo messages are already there.")
        else:
            self._messages(users)
            self._files(users)
        self.stdout.write(
            f"Demo logins (password {password!r}): ann (acme admin), bo, cy (acme and globex), "
            "dee (globex admin), eli; admin (global admin)"
        )

    def _messages(self, users: dict[str, Any]) -> None:
        acme = {u: tenant_access(users[u], "acme") for u in ("ann", "bo", "cy")}
        globex = {u: tenant_access(users[u], "globex") for u in ("cy", "dee", "eli")}

        def send(
            access: Any, sender: str, to: Any, subject: str, body: str, reply: int | None = None
        ) -> Message:
            recipients = to if to == ALL else [users[u].pk for u in to]
            return do_send_message(
                sender=users[sender],
                access=access[sender],
                recipient_ids=recipients,
                subject=subject,
                body=body,
                reply_to_id=reply,
            )

        welcome = send(
            acme,
            "ann",
            ALL,
            "Welcome to Harbor Messaging",
            "Hello all,\n\nmessages now reach you here. Reply to this one to try it out.\n"
            "The handbook is at https://example.org/handbook",
        )
        berth = send(
            acme,
            "bo",
            ["ann", "cy"],
            "Berth 7 schedule",
            "The MV Aurora moves to berth 7 on Thursday at 06:00. Can you confirm the crane crew?",
        )
        send(
            acme,
            "ann",
            ["bo", "cy"],
            "Re: Berth 7 schedule",
            "Confirmed, crew of four.",
            reply=berth.pk,
        )
        send(
            acme,
            "cy",
            ["ann"],
            "Re: Welcome to Harbor Messaging",
            "Works nicely, thanks!",
            reply=welcome.pk,
        )
        send(acme, "cy", ["bo"], "Lunch?", "Canteen at 12:30?")
        send(
            globex,
            "dee",
            ALL,
            "Quarterly safety drill",
            "The drill is on the 14th. Please read the checklist before then.",
        )
        send(
            globex,
            "eli",
            ["cy", "dee"],
            "Pilot boarding times",
            "Updated times for next week are in.",
        )
        self.stdout.write("Created demo messages.")

    def _files(self, users: dict[str, Any]) -> None:
        """A few media library files, one of them attached to the berth message."""
        import io

        from PIL import Image, ImageDraw

        from attachments.actions import FileToAttach, do_attach_files
        from harbor_messaging.media.actions import do_add_file_from_bytes
        from harbor_messaging.media.models import MediaFile
        from harbor_messaging.media.selectors import max_file_size_for

        acme = tenant_access(users["bo"], "acme").tenant
        limit = max_file_size_for(acme)
        image = Image.new("RGB", (640, 400), (11, 37, 64))
        draw = ImageDraw.Draw(image)
        for i, x in enumerate(range(40, 600, 80)):
            draw.rectangle([x, 250 - 20 * (i % 4), x + 50, 330], fill=(108, 178, 245))
        draw.text((40, 40), "Berth 7 - Thursday 06:00", fill=(255, 255, 255))
        png = io.BytesIO()
        image.save(png, format="PNG")
        plan = do_add_file_from_bytes(
            tenant=acme,
            owner=users["bo"],
            name="berth-7-plan.png",
            content=png.getvalue(),
            origin=MediaFile.Origin.MEDIA_LIBRARY,
            limit=limit,
        )
        do_add_file_from_bytes(
            tenant=acme,
            owner=users["bo"],
            name="crane-crew.txt",
            content=b"Crane crew, berth 7, Thursday:\n- Ann\n- Bo\n- Cy\n- Dee (standby)\n",
            origin=MediaFile.Origin.MEDIA_LIBRARY,
            limit=limit,
        )
        do_add_file_from_bytes(
            tenant=acme,
            owner=users["ann"],
            name="harbour-handbook.pdf",
            content=(
                b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
                b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n%%EOF\n"
            ),
            origin=MediaFile.Origin.MEDIA_LIBRARY,
            limit=limit,
        )
        berth = Message.objects.get(tenant=acme, subject="Berth 7 schedule")
        do_attach_files(message=berth, files=[FileToAttach(plan, "media_library")])
        self.stdout.write("Created demo files and an attachment.")
