"""Real servers for tests: Daphne on a free loopback port, sharing the test database."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from django.conf import settings
from django.db import connection

from .processes import spawn, stop, wait_ready

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_url_for_tests() -> str:
    """The URL of the database the test run uses (pytest-django's test database)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] or ""
    if db.get("PASSWORD"):
        auth += ":" + db["PASSWORD"]
    host = db["HOST"] or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    # Servers under test run as docs/deploy.md recommends: with Django's connection pool.
    return f"postgres://{auth}@{host}{port}/{db['NAME']}?pool=8"


class DaphneServer:
    """One Daphne process serving the project on 127.0.0.1:<port>."""

    def __init__(self, *, port: int | None = None, env: dict[str, str] | None = None) -> None:
        self.port = port or free_port()
        self.extra_env = env or {}
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = Path(settings.HARBOR_DATA_DIR) / f"daphne-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "tests.settings",
                "DJANGO_SECRET_KEY": settings.SECRET_KEY,
                "DJANGO_DEBUG": "0",
                "HARBOR_SECURE_COOKIES": "0",
                "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
                "HARBOR_DATA_DIR": str(settings.HARBOR_DATA_DIR),
                "DATABASE_URL": database_url_for_tests(),
                "HARBOR_EVENT_PUBLISHER": "messaging.publishers.eventstream.StreamPublisher",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 30.0) -> DaphneServer:
        self.process = spawn(
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(self.port),
                "harbor_messaging.asgi:application",
            ],
            self.log_path,
            cwd=ROOT,
            env=self.environment(),
        )

        def ready() -> bool:
            try:
                return httpx.get(self.url + "/healthz", timeout=1.0).status_code == 200
            except httpx.HTTPError:
                return False

        wait_ready(
            self.process, ready, what=f"daphne on {self.url}", log=self.log_path, timeout=timeout
        )
        return self

    def stop(self) -> None:
        stop(self.process)
        self.process = None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def __enter__(self) -> DaphneServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


@contextmanager
def daphne_pair(env: dict[str, str]) -> Iterator[tuple[DaphneServer, DaphneServer]]:
    """Two Daphne processes with the same environment (a shared Redis, say), both stopped."""
    a = DaphneServer(env=env).start()
    try:
        b = DaphneServer(env=env).start()
        try:
            yield a, b
        finally:
            b.stop()
    finally:
        a.stop()


def login(base_url: str, username: str, password: str) -> httpx.Client:
    """An httpx client logged in through the real login form, with its CSRF header set."""
    client = httpx.Client(base_url=base_url, follow_redirects=False, timeout=10.0)
    page = client.get("/accounts/login/")
    token = page.cookies.get("csrftoken") or client.cookies.get("csrftoken")
    response = client.post(
        "/accounts/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token},
        headers={"Referer": base_url + "/accounts/login/"},
    )
    if response.status_code != 302:
        raise AssertionError(f"login failed for {username}: {response.status_code}")
    client.headers["X-CSRFToken"] = client.cookies.get("csrftoken") or ""
    return client


def remove_member_through_admin(admin: httpx.Client, membership_pk: int) -> httpx.Response:
    """Delete a membership as a global admin does in the Django admin (its confirm form)."""
    url = f"/admin/tenants/membership/{membership_pk}/delete/"
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', admin.get(url).text)
    assert token is not None
    return admin.post(
        url,
        data={"post": "yes", "csrfmiddlewaretoken": token.group(1)},
        headers={"Referer": f"{admin.base_url}/admin/"},
    )


def send_message(
    client: httpx.Client, tenant: str, recipients: list[int] | str, body: str, subject: str = ""
) -> int:
    """POST /api/messaging/send as a page would; the new message's id (asserts a 201)."""
    response = client.post(
        "/api/messaging/send",
        json={"tenantId": tenant, "recipientIds": recipients, "subject": subject, "body": body},
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])
