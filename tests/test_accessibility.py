"""axe-core on every page, in English and German, at desktop and phone sizes, in light and dark:
no serious or critical violation. Each page is also shot into var/screenshots/.

axe-core is vendored (tests/vendor/axe-core/, the npm package's axe.min.js, MPL-2.0) so the
check runs offline and pinned; Playwright injects it as an init script, which the pages'
strict Content-Security-Policy does not apply to."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harbor_messaging.media.actions import do_add_file_from_bytes
from tests import factories
from tests.attachments import files
from tests.browser import shot

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 360, "height": 740}}
BLOCKING = {"serious", "critical"}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]

pytestmark = [pytest.mark.browser, pytest.mark.live, pytest.mark.django_db(transaction=True)]


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """The serious and critical violations axe finds on the page as it is now."""
    violations: list[dict[str, Any]] = page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map((n) => n.target.join(" ") + " :: " + n.failureSummary),
            }));
        }""",
        AXE_TAGS,
    )
    return [v for v in violations if v["impact"] in BLOCKING]


@pytest.fixture
def people(world: dict[str, Any]) -> dict[str, Any]:
    """ann (tenant admin of acme) with a message from bo and a file in her media library."""
    factories.send(
        world["bo"],
        world["acme"],
        [world["ann"]],
        subject="Crane crew on Thursday",
        body="Four people at berth 7, see https://example.org/plan",
    )
    do_add_file_from_bytes(
        tenant=world["acme"],
        owner=world["ann"],
        name="berth-plan.png",
        content=files.png(),
        origin="upload",
        limit=10 * 1024 * 1024,
    )
    return world


@pytest.fixture
def context_for(browser: Any, live_daphne: Any) -> Iterator[Any]:
    contexts: list[Any] = []

    def make(*, language: str, size: str, scheme: str) -> Any:
        context = browser.new_context(
            base_url=live_daphne.url, viewport=SIZES[size], color_scheme=scheme
        )
        context.set_default_timeout(15_000)
        context.add_init_script(path=str(AXE))
        # The pages without a prefix (login, admin) take the language from the switcher's cookie.
        host = live_daphne.url.split("//", 1)[1].split(":", 1)[0]
        context.add_cookies(
            [{"name": "django_language", "value": language, "domain": host, "path": "/"}]
        )
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


def visit_every_page(page: Any, language: str) -> Iterator[str]:
    """Walks the pages as ann, yielding each page's name once it is ready to check."""
    page.goto("/admin/login/")
    yield "admin-login"
    page.goto("/accounts/login/")
    yield "login"
    page.locator("#id_username").fill("ann")
    page.locator("#id_password").fill(factories.PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(f"**/{language}/harbor/")
    yield "home"
    page.goto(f"/{language}/harbor/messaging/")
    page.locator("[data-message-row] [data-action=open-message]").first.click()
    page.locator("[data-reader]").wait_for(state="visible")
    page.locator("[data-reader] .reader__body a").first.wait_for()
    yield "messaging-reader"
    page.locator("[data-action=compose]").click()
    page.locator("[data-composer]").wait_for(state="visible")
    yield "messaging-composer"
    page.goto(f"/{language}/harbor/media/")
    yield "media"
    page.goto(f"/{language}/harbor/settings/")
    yield "settings"


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("language", ["en", "de"])
def test_no_serious_or_critical_axe_violation_on_any_page(
    people: dict[str, Any], context_for: Any, language: str, size: str, scheme: str
) -> None:
    page = context_for(language=language, size=size, scheme=scheme).new_page()
    found: dict[str, list[dict[str, Any]]] = {}
    checked = []
    for name in visit_every_page(page, language):
        assert page.evaluate("document.documentElement.lang") == language, name
        shot(page, f"a11y-{name}-{language}-{size}-{scheme}")
        checked.append(name)
        violations = axe_violations(page)
        if violations:
            found[name] = violations
    assert len(checked) == 7
    assert found == {}, f"axe ({language}, {size}, {scheme}): {found}"


def test_the_check_itself_finds_a_planted_violation(context_for: Any, db: Any) -> None:
    """The watcher is proven: an unnamed button and an image without text are reported."""
    page = context_for(language="en", size="desktop", scheme="light").new_page()
    page.goto("/accounts/login/")
    assert axe_violations(page) == []
    page.evaluate(
        """() => {
            const main = document.querySelector("main");
            main.append(document.createElement("button"));
            const image = document.createElement("img");
            image.src = "/static/harbor/img/favicon.svg";
            main.append(image);
        }"""
    )
    assert {v["id"] for v in axe_violations(page)} >= {"button-name", "image-alt"}


# Interactive elements a finger must hit; links inside running text are exempt (WCAG 2.5.8's
# inline exception), and a checkbox or radio counts by its label, which is what takes the tap.
TOUCH_TARGETS = """() => {
    const selector = "a[href], button, input, select, textarea, summary, [role=option], [tabindex]";
    const small = [];
    for (const el of document.querySelectorAll(selector)) {
        if (el.closest("[hidden], template, .visually-hidden")) continue;
        if (el.matches("[tabindex='-1']:not(a, button, input, select, textarea)")) continue;
        if (el.matches("input[type=hidden]")) continue;
        if (el.matches("a") && el.closest("p, .message-body, .reader__body, li.flash")) continue;
        let target = el;
        if (el.matches("input[type=checkbox], input[type=radio]")) {
            target = el.closest("label") || el;
        }
        const box = target.getBoundingClientRect();
        if (box.width === 0 && box.height === 0) continue;
        if (getComputedStyle(target).visibility === "hidden") continue;
        if (box.width < 44 || box.height < 44) {
            const name = (el.getAttribute("aria-label") || el.textContent || el.name || "").trim();
            const size = `${Math.round(box.width)}x${Math.round(box.height)}`;
            small.push(`${el.tagName.toLowerCase()} "${name.slice(0, 30)}" ${size}`);
        }
    }
    return small;
}"""


def test_on_a_phone_every_touch_target_on_the_messaging_page_is_at_least_44px(
    people: dict[str, Any], context_for: Any
) -> None:
    page = context_for(language="de", size="phone", scheme="light").new_page()
    pages = visit_every_page(page, "de")
    small: dict[str, list[str]] = {}
    for name in pages:
        if name.startswith("messaging"):
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 360, f"{name} scrolls sideways on a phone ({width}px)"
            if found := page.evaluate(TOUCH_TARGETS):
                small[name] = found
    assert small == {}, f"touch targets under 44px: {small}"
