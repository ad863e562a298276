"""Previews read from pages a loopback server of the test serves, fetched through the real
guard: Open Graph, Twitter cards, JSON-LD alone, microdata alone, a bare <title>, several
charsets, relative image URLs, broken HTML; and the thumbnails made from their images."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

import pytest
from PIL import Image

from linkpreview.fetching import fetch_preview
from linkpreview.thumbnails import ThumbnailError, make_thumbnail

from .conftest import PageServer


def png(width: int = 40, height: int = 30, mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height), (200, 30, 30, 128) if mode == "RGBA" else (20, 90, 200)).save(
        out, "PNG"
    )
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims a huge size: the decompression bomb's opening."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1024))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(autouse=True)
def _loopback(open_loopback: Any) -> None:
    open_loopback()


def preview(pages: PageServer, path: str, html: str | bytes, **kwargs: Any) -> Any:
    outcome = fetch_preview(pages.page(path, html, **kwargs))
    assert outcome.ok, outcome.error
    return outcome


def test_open_graph_with_its_image_made_into_our_thumbnail(pages: PageServer) -> None:
    pages.page("/img/card.png", png(1200, 630), headers={"Content-Type": "image/png"})
    outcome = preview(
        pages,
        "/og",
        """<!doctype html><html><head><title>Plain title</title>
        <meta property="og:title" content="  Harbor   opens  berth 9 ">
        <meta property="og:description" content="Ships from Monday.">
        <meta property="og:site_name" content="Port News">
        <meta property="og:image" content="/img/card.png">
        </head><body></body></html>""",
    )
    meta = outcome.metadata
    assert meta.title == "Harbor opens berth 9"
    assert meta.description == "Ships from Monday."
    assert meta.site_name == "Port News"
    assert meta.image_url == pages.url("/img/card.png")
    thumb = Image.open(io.BytesIO(outcome.thumbnail))
    assert thumb.format == "JPEG"
    assert max(thumb.size) <= 640
    assert "/img/card.png" in pages.hits


def test_twitter_cards(pages: PageServer) -> None:
    outcome = preview(
        pages,
        "/tw",
        """<html><head><title>x</title>
        <meta name="twitter:card" content="summary">
        <meta name="twitter:title" content="Tide tables">
        <meta name="twitter:description" content="High water at 06:12.">
        <meta name="twitter:image" content="https://cdn.example/tide.png">
        </head></html>""",
    )
    meta = outcome.metadata
    assert (meta.title, meta.description) == ("Tide tables", "High water at 06:12.")
    assert meta.image_url == "https://cdn.example/tide.png"
    assert outcome.thumbnail is None  # cdn.example does not resolve here: a text card


def test_json_ld_alone(pages: PageServer) -> None:
    outcome = preview(
        pages,
        "/ld",
        """<html><head><script type="application/ld+json">
        {"@context": "https://schema.org", "@graph": [
          {"@type": "NewsArticle", "headline": "Crane 4 back in service",
           "description": "Repairs done early.",
           "image": {"@type": "ImageObject", "url": "pics/crane.png"},
           "publisher": {"@type": "Organization", "name": "Harbor Daily"}}]}
        </script></head><body>no meta here</body></html>""",
    )
    meta = outcome.metadata
    assert meta.title == "Crane 4 back in service"
    assert meta.description == "Repairs done early."
    assert meta.site_name == "Harbor Daily"
    assert meta.image_url == pages.url("/pics/crane.png")


def test_microdata_alone(pages: PageServer) -> None:
    outcome = preview(
        pages,
        "/md/item",
        """<html><body><div itemscope itemtype="https://schema.org/Product">
        <h1 itemprop="name">Mooring line, 40 m</h1>
        <p itemprop="description">Polyester, 24 mm.</p>
        <img itemprop="image" src="../img/line.png">
        </div></body></html>""",
    )
    meta = outcome.metadata
    assert meta.title == "Mooring line, 40 m"
    assert meta.description == "Polyester, 24 mm."
    assert meta.image_url == pages.url("/img/line.png")


def test_title_and_meta_description_alone_give_a_text_card(pages: PageServer) -> None:
    outcome = preview(
        pages,
        "/plain",
        '<html><head><title>Opening hours</title><meta name="description" content="Mon–Fri">'
        "</head><body></body></html>",
    )
    meta = outcome.metadata
    assert (meta.title, meta.description, meta.image_url) == ("Opening hours", "Mon–Fri", "")
    assert outcome.thumbnail is None


CHARSET_PAGES = {
    # <meta charset> alone
    "meta-charset-cp1251": (
        "Причал",
        '<html><head><meta charset="windows-1251"><title>Причал</title></head></html>',
        "cp1251",
        "text/html",
    ),
    # http-equiv, Shift JIS
    "http-equiv-shift-jis": (
        "港の案内",
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=shift_jis">'
        "<title>港の案内</title></head></html>",
        "shift_jis",
        "text/html",
    ),
    # the header's charset
    "header-latin1": (
        "Café du port",
        "<html><head><title>Café du port</title></head></html>",
        "iso-8859-1",
        "text/html; charset=ISO-8859-1",
    ),
    # the header wins over a wrong <meta>
    "header-wins": (
        "Grüße",
        '<html><head><meta charset="utf-8"><title>Grüße</title></head></html>',
        "iso-8859-1",
        "text/html; charset=iso-8859-1",
    ),
    # a UTF-8 byte order mark, no declaration at all
    "bom": ("Ñandú", "\ufeff<html><head><title>Ñandú</title></head></html>", "utf-8", "text/html"),
    # XHTML with an XML declaration
    "xhtml": (
        "Ωmega",
        '<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml">'
        "<head><title>Ωmega</title></head></html>",
        "utf-8",
        "application/xhtml+xml",
    ),
    # UTF-16 announced by the header
    "header-utf16": (
        "Hafen",
        "<html><head><title>Hafen</title></head></html>",
        "utf-16",
        "text/html; charset=utf-16",
    ),
}


@pytest.mark.parametrize("case", list(CHARSET_PAGES))
def test_charsets(pages: PageServer, case: str) -> None:
    title, html, encoding, content_type = CHARSET_PAGES[case]
    outcome = preview(pages, "/cs", html.encode(encoding), headers={"Content-Type": content_type})
    assert outcome.metadata.title == title


def test_relative_image_urls_follow_the_page_and_its_base(pages: PageServer) -> None:
    pages.page("/static/a.png", png(), headers={"Content-Type": "image/png"})
    outcome = preview(
        pages,
        "/news/today",
        '<html><head><meta property="og:image" content="../static/a.png"></head></html>',
    )
    assert outcome.metadata.image_url == pages.url("/static/a.png")
    assert outcome.thumbnail is not None
    based = preview(
        pages,
        "/other/page",
        '<html><head><base href="/static/"><meta property="og:image" content="a.png">'
        "</head></html>",
    )
    assert based.metadata.image_url == pages.url("/static/a.png")


def test_broken_html_still_gives_what_it_can(pages: PageServer) -> None:
    outcome = preview(
        pages,
        "/broken",
        b"<html><head><title>Half a page</tit<meta property='og:description' content='still "
        b"read'><script type='application/ld+json'>{not json</script><div><p><b>unclosed\xff\xfe",
    )
    assert "Half a page" in outcome.metadata.title
    assert outcome.metadata.description in {"still read", ""}


def test_text_is_cleaned_and_cut(pages: PageServer) -> None:
    outcome = preview(
        pages,
        "/long",
        '<html><head><meta property="og:title" content="A\u202eB\x07 C">'
        f'<meta property="og:description" content="{"word " * 500}"></head></html>',
    )
    assert outcome.metadata.title == "AB C"
    assert len(outcome.metadata.description) <= 600


def test_an_image_that_is_not_an_image_leaves_a_text_card(pages: PageServer) -> None:
    pages.page("/fake.png", b"<svg onload=alert(1)>", headers={"Content-Type": "image/png"})
    outcome = preview(
        pages, "/p", '<html><head><title>T</title><meta property="og:image" content="/fake.png">'
    )
    assert outcome.metadata.title == "T"
    assert outcome.thumbnail is None


def test_a_page_that_cannot_be_fetched_is_a_failure(pages: PageServer) -> None:
    outcome = fetch_preview(pages.url("/missing"))
    assert not outcome.ok
    assert outcome.error == "http_error"


# -- thumbnails -------------------------------------------------------------------------------


def test_a_decompression_bomb_is_refused_from_its_header() -> None:
    with pytest.raises(ThumbnailError) as caught:
        make_thumbnail(png_header_only(60000, 60000))
    assert caught.value.code == "image_too_large"


@pytest.mark.parametrize("data", [b"", b"GIF89a", b"<svg/>", b"\x89PNG\r\n\x1a\nbroken"])
def test_what_is_not_an_image_is_refused(data: bytes) -> None:
    with pytest.raises(ThumbnailError):
        make_thumbnail(data)


def test_thumbnails_are_reencoded_jpeg_with_transparency_flattened() -> None:
    out = Image.open(io.BytesIO(make_thumbnail(png(2000, 1000, "RGBA"))))
    assert out.format == "JPEG"
    assert out.size == (640, 320)
    assert out.mode == "RGB"
