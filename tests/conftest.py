"""Shared fixtures: two tenants with members, and API clients that behave like a browser."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from messaging.publishers.memory import MemoryPublisher

from . import factories, processes
from .services import RedisServer


class ApiClient:
    """A logged-in client that enforces CSRF and sends JSON, as the page's script does."""

    def __init__(self, user: User | None = None) -> None:
        self.client = Client(enforce_csrf_checks=True)
        self.user = user
        if user is not None:
            self.client.force_login(user)
        # A page load is what gives a browser its CSRF cookie.
        self.client.get("/en/harbor/" if user is not None else "/accounts/login/")
        self.csrf = (
            self.client.cookies["csrftoken"].value if "csrftoken" in self.client.cookies else ""
        )

    def _headers(self, csrf: bool) -> dict[str, str]:
        return {"X-CSRFToken": self.csrf} if csrf else {}

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.client.get(path, params or {})

    def post(
        self, path: str, data: Any = None, *, csrf: bool = True, raw: str | None = None
    ) -> Any:
        body = raw if raw is not None else json.dumps(data if data is not None else {})
        return self.client.post(
            path, body, content_type="application/json", headers=self._headers(csrf)
        )

    def patch(
        self, path: str, data: Any = None, *, csrf: bool = True, raw: str | None = None
    ) -> Any:
        body = raw if raw is not None else json.dumps(data if data is not None else {})
        return self.client.patch(
            path, body, content_type="application/json", headers=self._headers(csrf)
        )

    def delete(self, path: str, *, csrf: bool = True) -> Any:
        return self.client.delete(path, headers=self._headers(csrf))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    """Each test reports only the servers it started itself."""
    processes.spawned_logs.clear()
    try:
        return (yield)
    finally:
        processes.spawned_logs.clear()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A failed test's report carries what the servers it started logged meanwhile: CI
    keeps the report and not the logs."""
    report: pytest.TestReport = yield
    if report.failed:
        for what, log, offset in processes.spawned_logs:
            text = processes.written_since(log, offset)
            if text.strip():
                report.sections.append((f"Captured log of {what}", text))
    return report


@pytest.fixture(autouse=True)
def _clear_published_events() -> Iterator[None]:
    MemoryPublisher.clear()
    yield
    MemoryPublisher.clear()


@pytest.fixture(autouse=True)
def _own_rate_counters(settings: Any) -> None:
    """Each test counts its requests afresh: rate-limit keys under a prefix of its own."""
    settings.HARBOR_RATE_LIMIT_PREFIX = f"rl-test-{uuid.uuid4().hex}"


@pytest.fixture
def published() -> list[Any]:
    """The events the actions handed to the publisher (after commit)."""
    return MemoryPublisher.published


@pytest.fixture
def world(db: Any) -> Iterator[dict[str, Any]]:
    """Tenant acme (admin ann, subscribers bo and cy) and tenant globex (dee, and cy too).

    After the test, every unread count the triggers kept must equal the unread rows it
    counts (messaging/counts.py): whatever the test did to recipient rows, they kept up.
    """
    acme = factories.make_tenant("acme", "Acme Shipping")
    globex = factories.make_tenant("globex", "Globex")
    ann = factories.make_member(acme, "ann", role="tenant_admin", name="Ann Lee")
    bo = factories.make_member(acme, "bo", name="Bo Chan")
    cy = factories.make_member(acme, "cy", name="Cy Okafor")
    factories.make_member(globex, "cy")
    dee = factories.make_member(globex, "dee", role="tenant_admin", name="Dee Novak")
    yield {"acme": acme, "globex": globex, "ann": ann, "bo": bo, "cy": cy, "dee": dee}
    from messaging.counts import drift

    assert drift() == [], "unread counts out of step with the unread rows"


@pytest.fixture
def api() -> Any:
    """api(user) gives a logged-in JSON client; api() an anonymous one."""
    return ApiClient


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A Redis server of the test's own, on its own port (skipped where none is installed)."""
    if not RedisServer.available():
        pytest.skip("redis-server is not installed")
    with RedisServer() as server:
        yield server


@pytest.fixture(scope="session")
def live_daphne(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Any]:
    """One Daphne process for the session, on the test database. Tests that use it need
    ``django_db(transaction=True)`` so what they write is committed and visible to it."""
    from .live import DaphneServer

    server = DaphneServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium, once per test module (tests/browser.py)."""
    from .browser import launch_browser

    yield from launch_browser()
