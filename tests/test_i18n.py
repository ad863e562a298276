"""English and German: every string translated, the catalogs current with the sources, and
the <lang> prefix, the switcher, dates and the scripts' catalog speaking the language asked."""

from __future__ import annotations

import ast
import gettext
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests import factories

ROOT = Path(__file__).resolve().parents[1]
LOCALE = ROOT / "locale"
DOMAINS = ("django", "djangojs")
# What makemessages reads, as scripts/dev and the README run it.
MAKEMESSAGES_IGNORE = ["var", "tests", "bench", "docs", "node_modules"]


@dataclass
class Entry:
    msgid: str
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False


def _unquote(lines: list[str]) -> str:
    return "".join(ast.literal_eval(line) for line in lines)


def parse_po(path: Path) -> list[Entry]:
    """The entries of a .po file (the header included, as msgid ""), read plainly."""
    entries: list[Entry] = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        lines = [line for line in block.splitlines() if line.strip()]
        if not lines:
            continue
        entry = Entry(msgid="")
        if all(line.startswith("#~") for line in lines):
            entry.obsolete = True
            lines = [line[2:].strip() for line in lines]
        current: list[str] | None = None
        parts: dict[str, list[str]] = {}
        for line in lines:
            if line.startswith("#,"):
                entry.flags |= {flag.strip() for flag in line[2:].split(",")}
            elif line.startswith("#"):
                continue
            elif line.startswith('"'):
                assert current is not None, f"{path}: a string continues nothing: {line}"
                current.append(line)
            else:
                keyword, _, rest = line.partition(" ")
                current = parts.setdefault(keyword, [])
                current.append(rest)
        entry.msgid = _unquote(parts.get("msgid", ['""']))
        if "msgid_plural" in parts:
            entry.msgid_plural = _unquote(parts["msgid_plural"])
        if "msgctxt" in parts:
            entry.msgctxt = _unquote(parts["msgctxt"])
        for keyword, value in parts.items():
            if keyword == "msgstr":
                entry.msgstr[0] = _unquote(value)
            elif match := re.fullmatch(r"msgstr\[(\d+)\]", keyword):
                entry.msgstr[int(match.group(1))] = _unquote(value)
        entries.append(entry)
    return entries


def po_path(domain: str, locale: Path = LOCALE) -> Path:
    return locale / "de" / "LC_MESSAGES" / f"{domain}.po"


def active_msgids(path: Path) -> set[tuple[str | None, str]]:
    return {(e.msgctxt, e.msgid) for e in parse_po(path) if e.msgid and not e.obsolete}


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_german_string_is_translated_and_none_is_fuzzy(domain: str) -> None:
    entries = parse_po(po_path(domain))
    header = [e for e in entries if e.msgid == ""]
    assert header and "fuzzy" not in header[0].flags, "the header is still marked fuzzy"
    assert "Plural-Forms: nplurals=2; plural=(n != 1);" in header[0].msgstr[0]
    messages = [e for e in entries if e.msgid and not e.obsolete]
    assert len(messages) > (100 if domain == "django" else 20)
    fuzzy = [e.msgid for e in messages if "fuzzy" in e.flags]
    untranslated = [
        e.msgid
        for e in messages
        if not e.msgstr
        or any(not text.strip() for text in e.msgstr.values())
        or (e.msgid_plural is not None and sorted(e.msgstr) != [0, 1])
    ]
    assert fuzzy == [], f"fuzzy German translations in {domain}.po: {fuzzy}"
    assert untranslated == [], f"missing German translations in {domain}.po: {untranslated}"
    obsolete = [e.msgid for e in entries if e.obsolete]
    assert obsolete == [], f"obsolete entries left in {domain}.po: {obsolete}"


@pytest.mark.parametrize("domain", DOMAINS)
def test_the_committed_mo_files_hold_what_the_po_files_say(domain: str) -> None:
    """The .mo files are committed (the app needs no gettext to run); they must be current."""
    mo = po_path(domain).with_suffix(".mo")
    assert mo.exists(), f"{mo} is missing: run manage.py compilemessages"
    with mo.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    catalog: dict[Any, str] = compiled._catalog  # type: ignore[attr-defined]
    for entry in parse_po(po_path(domain)):
        if not entry.msgid or entry.obsolete:
            continue
        key = f"{entry.msgctxt}\x04{entry.msgid}" if entry.msgctxt else entry.msgid
        if entry.msgid_plural is None:
            assert catalog.get(key) == entry.msgstr[0], f"{mo} is stale for {entry.msgid!r}"
        else:
            for n, text in entry.msgstr.items():
                assert catalog.get((key, n)) == text, f"{mo} is stale for {entry.msgid!r}"


def test_the_catalogs_are_current_with_the_sources(tmp_path: Path) -> None:
    """makemessages on a copy of the sources finds exactly the msgids the catalogs hold."""
    if shutil.which("xgettext") is None:
        pytest.skip("xgettext (Debian package gettext) is not installed")
    copy = tmp_path / "src"
    shutil.copytree(
        ROOT,
        copy,
        ignore=shutil.ignore_patterns(
            ".*", "var", "node_modules", "__pycache__", "*.egg-info", "*.mo", "*.png"
        ),
    )
    env = {**os.environ, "DJANGO_DEBUG": "1", "HARBOR_DATA_DIR": str(tmp_path / "data")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    ignore = [f"--ignore={pattern}" for pattern in MAKEMESSAGES_IGNORE]
    for domain in DOMAINS:
        subprocess.run(
            [sys.executable, "manage.py", "makemessages", "-l", "de", "-d", domain, *ignore],
            cwd=copy,
            env=env,
            check=True,
            capture_output=True,
        )
        expected = active_msgids(po_path(domain, copy / "locale"))
        held = active_msgids(po_path(domain))
        assert sorted(expected - held) == [], f"new strings not in {domain}.po: run makemessages"
        assert sorted(held - expected) == [], f"{domain}.po holds strings no source uses"


def test_the_prefix_chooses_the_language(client: Any, world: dict[str, Any]) -> None:
    client.force_login(world["bo"])
    english = client.get("/en/harbor/messaging/").content.decode()
    german = client.get("/de/harbor/messaging/").content.decode()
    assert '<html lang="en">' in english and "Inbox" in english
    assert '<html lang="de">' in german
    assert "Posteingang" in german and "Neue Nachricht" in german and "Abmelden" in german
    assert ">Inbox<" not in german


def test_the_switcher_keeps_the_page_and_changes_the_language(
    client: Any, world: dict[str, Any]
) -> None:
    client.force_login(world["bo"])
    html = client.get("/en/harbor/messaging/").content.decode()
    assert 'action="/i18n/setlang/"' in html
    assert 'name="language" value="de" lang="de"' in html
    response = client.post("/i18n/setlang/", {"language": "de", "next": "/en/harbor/messaging/"})
    assert response.status_code == 302
    assert response["Location"] == "/de/harbor/messaging/"


def test_the_switcher_on_the_login_page_sets_its_language(client: Any, db: Any) -> None:
    # The login page has no prefix: the cookie the switcher sets chooses its language.
    assert 'name="language" value="de"' in client.get("/accounts/login/").content.decode()
    response = client.post("/i18n/setlang/", {"language": "de", "next": "/accounts/login/"})
    assert response["Location"] == "/accounts/login/"
    assert "Bei Harbor anmelden" in client.get("/accounts/login/").content.decode()


def test_the_login_lands_in_the_language_of_the_login_page(
    client: Any, world: dict[str, Any]
) -> None:
    client.cookies["django_language"] = "de"
    response = client.post("/accounts/login/", {"username": "bo", "password": factories.PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/de/harbor/"


def test_dates_follow_the_language(client: Any, world: dict[str, Any]) -> None:
    factories.send(world["ann"], world["acme"], [world["bo"]], subject="Berth 7")
    client.force_login(world["bo"])
    english = client.get("/en/harbor/messaging/").content.decode()
    german = client.get("/de/harbor/messaging/").content.decode()
    # SHORT_DATETIME_FORMAT: 12/01/2026 8:16 p.m. in English, 01.12.2026 20:16 in German.
    assert re.search(r'class="message-row__time"[^>]*>\d\d/\d\d/\d{4} ', english)
    assert re.search(r'class="message-row__time"[^>]*>\d\d\.\d\d\.\d{4} \d\d:\d\d<', german)


def test_the_script_catalog_is_german_under_de(client: Any) -> None:
    german = client.get("/de/jsi18n/")
    assert german.status_code == 200
    assert german["Content-Type"].startswith("text/javascript")
    text = german.content.decode()
    assert '"Antworten"' in text and '"Nachricht gesendet."' in text
    assert '"Antworten"' not in client.get("/en/jsi18n/").content.decode()


@pytest.mark.browser
@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_the_scripts_speak_the_page_language(
    browser: Any, live_daphne: Any, world: dict[str, Any]
) -> None:
    context = browser.new_context(base_url=live_daphne.url)
    try:
        page = context.new_page()
        page.goto("/accounts/login/?next=/de/harbor/messaging/")
        page.get_by_label("Username").fill("bo")
        page.get_by_label("Password").fill(factories.PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/de/harbor/messaging/")
        said = page.evaluate(
            """async () => {
                const {t} = await import("/static/messaging/js/strings.js");
                const {formatNumber} = await import("/static/harbor/js/i18n.js");
                return [t("reply"), t("sentTo", {names: "Ann"}), formatNumber(1234.5)];
            }"""
        )
        assert said == ["Antworten", "Nachricht an Ann gesendet.", "1.234,5"]
        page.get_by_role("button", name="Neue Nachricht").click()
        page.get_by_role("button", name="Senden", exact=True).click()
        page.get_by_text("Wählen Sie mindestens einen Empfänger.").wait_for()
    finally:
        context.close()
