"""Hardening: the strict Content-Security-Policy and the other security headers on every
page, the admin for staff only, `check --deploy` clean under production settings, and no
CSP violation in Chromium on the messaging page, the media page and the admin's pages."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from harbor_messaging.tenants.actions import do_create_global_admin
from harbor_messaging.tenants.models import Membership
from tests import factories

ROOT = Path(__file__).resolve().parent.parent

EXPECTED_DIRECTIVES = {
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "form-action 'self'",
    "base-uri 'none'",
    "object-src 'none'",
}


def _directives(response: Any) -> set[str]:
    return {part.strip() for part in response["Content-Security-Policy"].split(";")}


@pytest.mark.parametrize(
    "path",
    [
        "/en/harbor/",
        "/en/harbor/messaging/",
        "/en/harbor/media/",
        "/accounts/login/",
        "/api/messaging/unread-count",
        "/admin/login/",
    ],
)
def test_every_page_carries_the_strict_policy_and_security_headers(
    world: dict[str, Any], path: str
) -> None:
    client = Client()
    if not path.startswith(("/accounts", "/admin")):
        client.force_login(world["bo"])
    response = client.get(path)
    assert response.status_code == 200, path
    assert _directives(response) >= EXPECTED_DIRECTIVES
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert "unsafe-eval" not in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_no_page_has_an_inline_script(world: dict[str, Any]) -> None:
    import re

    client = Client()
    client.force_login(world["ann"])
    for path in ["/en/harbor/", "/en/harbor/messaging/", "/en/harbor/media/"]:
        html = client.get(path).content.decode()
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag, (path, tag)
        assert not re.search(r"\son[a-z]+=", html), path


def test_the_admin_is_for_staff_only(world: dict[str, Any]) -> None:
    member = Client()
    member.force_login(world["ann"])  # A tenant admin, but not staff.
    refused = member.get("/admin/")
    assert refused.status_code == 302
    assert refused["Location"].startswith("/admin/login/")
    do_create_global_admin(username="root", password=factories.PASSWORD)
    staff = Client()
    assert staff.login(username="root", password=factories.PASSWORD)
    assert staff.get("/admin/").status_code == 200


def _production_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HARBOR_", "DJANGO_"))}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "harbor_messaging.settings",
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
            "DJANGO_ALLOWED_HOSTS": "harbor.example.com",
            "HARBOR_DATA_DIR": str(tmp_path),
        }
    )
    return env


def test_check_deploy_is_clean_with_production_settings(tmp_path: Path) -> None:
    env = _production_env(tmp_path)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings as s; "
            "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, "
            "s.SECURE_HSTS_SECONDS >= 31536000, s.SESSION_COOKIE_HTTPONLY)",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.stdout.split() == ["True"] * 5, shown.stdout + shown.stderr


def test_debug_off_refuses_the_development_key(tmp_path: Path) -> None:
    env = _production_env(tmp_path)
    env["DJANGO_SECRET_KEY"] = "harbor-dev-insecure-key-never-use-in-production"
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "refused" in result.stderr


# -- in Chromium ---------------------------------------------------------------------------


WATCH = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(
    e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile + ':' + e.lineNumber);
});
"""


def _login(page: Any, username: str) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", factories.PASSWORD)
    page.click("main button[type=submit]")  # the app bar holds the language buttons
    page.wait_for_url("**/harbor/**")


@pytest.mark.browser
@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_no_csp_violation_on_the_pages_and_the_admin(
    world: dict[str, Any], browser: Any, live_daphne: Any
) -> None:
    message = factories.send(world["bo"], world["acme"], [world["ann"]], body="https://example.org")
    root = do_create_global_admin(username="root", password=factories.PASSWORD)
    Membership.objects.create(user=root, tenant=world["acme"], role="tenant_admin")
    context = browser.new_context(base_url=live_daphne.url)
    context.set_default_timeout(10_000)
    context.add_init_script(WATCH)
    page = context.new_page()
    console: list[str] = []
    page.on(
        "console",
        lambda msg: (
            console.append(msg.text)
            if "Content Security Policy" in msg.text or "Refused to" in msg.text
            else None
        ),
    )
    try:
        _login(page, "root")
        seen: dict[str, list[str]] = {}
        for path in [
            "/en/harbor/messaging/",
            "/en/harbor/media/",
            "/admin/",
            f"/admin/messaging/message/{message.pk}/change/",
            "/admin/messaging/message/",
            f"/admin/tenants/tenant/{world['acme'].pk}/change/",
            "/admin/auth/user/add/",
            "/admin/media/mediasettings/add/",
        ]:
            response = page.goto(path)
            assert response is not None and response.status == 200, path
            page.wait_for_load_state("networkidle") if "admin" in path else page.wait_for_timeout(
                800
            )
            seen[path] = page.evaluate("window.__cspViolations")
        assert all(not v for v in seen.values()), seen
        # The watch itself works: an inline style attribute is refused and reported.
        page.evaluate("document.body.setAttribute('style', 'color: red')")
        page.wait_for_timeout(200)
        assert page.evaluate("window.__cspViolations.length") >= 1
        console = [line for line in console if "style" not in line]
        assert console == [], console
    finally:
        context.close()
