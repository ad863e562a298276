"""Malware scanning through a real clamd (started here, with the EICAR signature only): EICAR
is refused and nothing is kept, a clean file passes; without CLAMD_ADDRESS scanning is off
and each file says so."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harbor_messaging.media.models import MediaFile
from harbor_messaging.media.scanners.clamd import ClamdScanner
from tests import factories

from . import files
from .conftest import upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def scanning(settings: Any, clamd: Any) -> Any:
    settings.CLAMD_ADDRESS = clamd.address
    settings.HARBOR_MALWARE_SCANNER = "harbor_messaging.media.scanners.clamd.ClamdScanner"
    return clamd


@pytest.mark.usefixtures("scanning", "nothing_kept")
@pytest.mark.parametrize("with_message", [False, True], ids=["upload", "onto a message"])
def test_eicar_is_refused_and_nothing_is_kept(
    world: dict[str, Any], api: Any, with_message: bool
) -> None:
    fields: dict[str, Any] = {"tenantId": "acme"}
    if with_message:
        fields["messageId"] = factories.send(world["ann"], world["acme"], [world["bo"]]).pk
    response = upload(
        api(world["ann"]), [("fine.txt", b"fine\n"), ("eicar.txt", files.EICAR)], **fields
    )
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == "infected"
    assert error["details"] == {
        "fileName": "eicar.txt",
        "signature": "Harbor.Test.EICAR.UNOFFICIAL",
    }


def test_a_clean_file_passes_and_says_it_was_scanned(
    world: dict[str, Any], api: Any, scanning: Any, storage_dir: Path
) -> None:
    response = upload(api(world["ann"]), [("clean.png", files.png())], tenantId="acme")
    assert response.status_code == 201, response.content
    media = MediaFile.objects.get(pk=response.json()["uploads"][0]["mediaFileId"])
    assert media.scan_state == MediaFile.ScanState.CLEAN


def test_without_clamd_address_scanning_is_off_and_said(
    world: dict[str, Any], api: Any, settings: Any, storage_dir: Path
) -> None:
    assert settings.CLAMD_ADDRESS == ""
    assert settings.HARBOR_MALWARE_SCANNER == "harbor_messaging.media.scanners.off.NoScanner"
    response = upload(api(world["ann"]), [("eicar.txt", files.EICAR)], tenantId="acme")
    assert response.status_code == 201
    [row] = api(world["ann"]).get("/api/media/files", {"tenantId": "acme"}).json()["results"]
    assert row["scanState"] == "not_scanned"


@pytest.mark.usefixtures("nothing_kept")
def test_a_configured_scanner_that_does_not_answer_keeps_nothing(
    world: dict[str, Any], api: Any, settings: Any, tmp_path: Path
) -> None:
    settings.CLAMD_ADDRESS = str(tmp_path / "no-such.sock")
    settings.HARBOR_MALWARE_SCANNER = "harbor_messaging.media.scanners.clamd.ClamdScanner"
    response = upload(api(world["ann"]), [("a.txt", b"a\n")], tenantId="acme")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "scanner_unavailable"
    assert response["Retry-After"] == "30"


def test_the_scanner_over_tcp_address_parsing() -> None:
    from django.core.exceptions import ImproperlyConfigured

    from harbor_messaging.media.scanners.clamd import parse_address

    assert parse_address("127.0.0.1:3310") == ("127.0.0.1", 3310)
    assert parse_address("[::1]:3310") == ("::1", 3310)
    assert parse_address("/run/clamav/clamd.ctl") == "/run/clamav/clamd.ctl"
    for bad in ("clamd", "host:", ":3310", "host:99999"):
        with pytest.raises(ImproperlyConfigured):
            parse_address(bad)


def test_scanner_streams_a_large_file_in_chunks(clamd: Any, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    with big.open("wb") as out:
        for _ in range(40):  # 10 MiB: many INSTREAM chunks, one answer
            out.write(b"\0" * (256 * 1024))
    result = ClamdScanner(address=clamd.address).scan(big)
    assert result.scanned and not result.infected
    eicar = tmp_path / "eicar.com"
    eicar.write_bytes(files.EICAR)
    assert ClamdScanner(address=clamd.address).scan(eicar).infected
