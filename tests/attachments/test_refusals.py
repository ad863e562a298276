"""Every refused file: the API.md error naming it, and nothing of it kept in storage or the
database, also when it came with good files in the same request."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from attachments.models import MessageAttachment
from harbor_messaging.media.models import MediaFile, MediaSettings, TenantMediaSettings
from messaging.models import Message
from tests import factories

from . import files
from .conftest import stored, upload

pytestmark = pytest.mark.django_db

LIMIT = 100_000


@pytest.fixture
def small_limit(world: dict[str, Any]) -> int:
    TenantMediaSettings.objects.create(tenant=world["acme"], max_file_size=LIMIT)
    return LIMIT


REFUSALS = [
    pytest.param("over.txt", b"x" * (LIMIT + 1), 413, "too_large", id="one byte over the limit"),
    pytest.param("empty.txt", b"", 422, "rejected_file", id="zero bytes"),
    pytest.param("photo.png", files.executable(), 415, "unsupported_type", id="executable as png"),
    pytest.param("bomb.png", files.bomb_png(), 422, "rejected_file", id="decompression bomb"),
    pytest.param("logo.svg", files.SVG_WITH_SCRIPT, 415, "unsupported_type", id="svg with script"),
    pytest.param("page.txt", files.HTML, 415, "unsupported_type", id="html named txt"),
]


@pytest.mark.parametrize(("name", "content", "status", "code"), REFUSALS)
@pytest.mark.parametrize("with_message", [False, True], ids=["upload", "onto a message"])
@pytest.mark.usefixtures("nothing_kept")
def test_a_refused_file_leaves_nothing(
    world: dict[str, Any],
    api: Any,
    small_limit: int,
    name: str,
    content: bytes,
    status: int,
    code: str,
    with_message: bool,
) -> None:
    message = factories.send(world["ann"], world["acme"], [world["bo"]], subject="s")
    fields: dict[str, Any] = {"tenantId": "acme"}
    if with_message:
        fields["messageId"] = message.pk
    # A good file first: it is refused with the bad one, so the request keeps nothing.
    response = upload(api(world["ann"]), [("good.txt", b"fine\n"), (name, content)], **fields)
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code
    shown = error["details"]["fileName"]
    assert shown.startswith(name[:4])
    assert "\x07" not in shown and "\u202e" not in shown
    assert shown in error["message"]
    message.refresh_from_db()
    assert message.attachment_count == 0 and not message.has_attachments
    assert MessageAttachment.objects.count() == 0


def test_the_limit_cuts_the_upload_off_while_it_streams(
    world: dict[str, Any], api: Any, small_limit: int, nothing_kept: None, tmp_path: Path
) -> None:
    # Far past the limit: the handler stops writing at the limit, so no temporary file grows.
    response = upload(api(world["ann"]), [("big.txt", b"y" * (LIMIT * 20))], tenantId="acme")
    assert response.status_code == 413
    assert response.json()["error"]["details"] == {"fileName": "big.txt", "maxSize": LIMIT}


def test_paths_control_and_bidi_characters_are_stripped_from_names(
    world: dict[str, Any], api: Any, storage_dir: Path
) -> None:
    response = upload(
        api(world["ann"]),
        [
            ("../../etc/passwd.txt", b"x\n"),
            ("C:\\Users\\ann\\report.txt", b"y\n"),
            ("bell\x07\x1b[31m.txt", b"z\n"),
            ("invoice\u202egpj.exe.txt", b"w\n"),
        ],
        tenantId="acme",
    )
    assert response.status_code == 201, response.content
    names = [u["fileName"] for u in response.json()["uploads"]]
    assert names == ["passwd.txt", "report.txt", "bell[31m.txt", "invoicegpj.exe.txt"]
    assert set(MediaFile.objects.values_list("name", flat=True)) == set(names)
    # Storage keys carry no part of any name, so nothing lands outside the tenant's folder.
    assert all(key.startswith(("library/acme/", "thumbnails/acme/")) for key in stored(storage_dir))


@pytest.mark.usefixtures("nothing_kept")
def test_a_name_with_nothing_left_is_not_kept(world: dict[str, Any], api: Any) -> None:
    response = upload(api(world["ann"]), [("\u202e\x07", b"x\n")], tenantId="acme")
    assert response.status_code == 400


def test_clean_file_name_on_its_own() -> None:
    from harbor_messaging.media.errors import FileRefused
    from harbor_messaging.media.names import clean_file_name

    assert clean_file_name("a/b\\c\u202e\x00d.pdf") == "cd.pdf"
    assert clean_file_name("x" * 300 + ".pdf").endswith("x.pdf")
    assert len(clean_file_name("x" * 300 + ".pdf")) == 255
    with pytest.raises(FileRefused) as refused:
        clean_file_name("dir/\u202e\x07")
    assert refused.value.status == 422 and refused.value.code == "rejected_file"


def test_limits_global_default_then_tenant_override(
    world: dict[str, Any], api: Any, storage_dir: Path
) -> None:
    from harbor_messaging.media.selectors import max_file_size_for

    assert max_file_size_for(world["acme"]) == 25 * 1024 * 1024
    MediaSettings(max_file_size=10).save()
    assert max_file_size_for(world["acme"]) == 10
    assert upload(api(world["ann"]), [("a.txt", b"x" * 11)], tenantId="acme").status_code == 413
    TenantMediaSettings.objects.create(tenant=world["acme"], max_file_size=100)
    assert upload(api(world["ann"]), [("a.txt", b"x" * 11)], tenantId="acme").status_code == 201
    # Only one global row, whatever saves it.
    MediaSettings(pk=7, max_file_size=20).save()
    assert list(MediaSettings.objects.values_list("pk", "max_file_size")) == [(1, 20)]


def test_bad_requests_are_400_not_500(world: dict[str, Any], api: Any, storage_dir: Path) -> None:
    ann = api(world["ann"])
    assert upload(ann, [], tenantId="acme").status_code == 400
    assert upload(ann, [("a.txt", b"a\n")], tenantId="acme", messageId="x1").status_code == 400
    assert upload(ann, [("a.txt", b"a\n")], tenantId="acme", other="1").status_code == 400
    json_post = ann.post("/api/messaging/attachments/upload", {"tenantId": "acme"})
    assert json_post.status_code == 415
    no_csrf = ann.client.post(
        "/api/messaging/attachments/upload", {"tenantId": "acme", "files": []}
    )
    assert no_csrf.status_code == 403
    assert ann.post("/api/messaging/attachments/attach", {"messageId": "1"}).status_code == 400
    assert Message.objects.count() == 0
