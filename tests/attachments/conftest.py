"""Fixtures for the attachment tests: a storage folder of each test's own, and upload()."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from harbor_messaging.media.models import MediaFile


@pytest.fixture
def storage_dir(settings: Any, tmp_path: Path) -> Iterator[Path]:
    """Local storage in a folder of this test's own, so 'nothing left' can be checked."""
    root = tmp_path / "media"
    root.mkdir()
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root)},
        },
    }
    yield root


def stored(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def upload(client: Any, files: list[tuple[str, bytes]], **fields: Any) -> Any:
    """POST the files to the upload endpoint as a browser's FormData would."""
    data: dict[str, Any] = {
        "files": [SimpleUploadedFile(name, content) for name, content in files],
        **{k: str(v) for k, v in fields.items()},
    }
    query = f"?tenantId={fields['tenantId']}" if "tenantId" in fields else ""
    return client.client.post(
        "/api/messaging/attachments/upload" + query,
        data,
        headers={"X-CSRFToken": client.csrf},
    )


@pytest.fixture
def nothing_kept(storage_dir: Path) -> Iterator[None]:
    """Asserts after the test that neither storage nor the media table gained anything."""
    before_files = stored(storage_dir)
    before_rows = MediaFile.objects.count()
    yield
    assert stored(storage_dir) == before_files
    assert MediaFile.objects.count() == before_rows


@pytest.fixture(scope="session")
def clamd(tmp_path_factory: Any) -> Iterator[Any]:
    from .servers import ClamdServer

    if not ClamdServer.available():
        pytest.skip("clamd is not installed (apt-get install clamav-daemon)")
    # A short path: unix socket paths are limited to about 100 bytes.
    import tempfile

    workdir = Path(tempfile.mkdtemp(prefix="hm-clamd-"))
    server = ClamdServer(workdir).start()
    try:
        yield server
    finally:
        server.stop()
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def moto_s3(tmp_path_factory: Any) -> Iterator[Any]:
    from .servers import MotoS3Server

    server = MotoS3Server(tmp_path_factory.mktemp("moto")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(moto_s3: Any, settings: Any) -> Iterator[str]:
    """The default storage is an S3 bucket on the moto server, reached over HTTP."""
    import uuid

    bucket = moto_s3.make_bucket(f"harbor-{uuid.uuid4().hex[:12]}")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "harbor_messaging.media.s3.SharedSessionS3Storage",
            "OPTIONS": moto_s3.storage_options(bucket),
        },
    }
    yield bucket
