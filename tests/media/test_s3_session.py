"""One boto3 session per process for the S3 storage; resources stay one per thread."""

from __future__ import annotations

import threading
from typing import Any

import boto3
import pytest

from harbor_messaging.media import s3


def test_threads_share_one_session_and_keep_their_own_resource(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(s3, "_sessions", {})
    made: list[Any] = []
    real = boto3.Session

    def counting(*args: Any, **kwargs: Any) -> Any:
        session = real(*args, **kwargs)
        made.append(session)
        return session

    monkeypatch.setattr(boto3, "Session", counting)
    storage = s3.SharedSessionS3Storage(
        bucket_name="harbor-test",
        access_key="key",
        secret_key="secret",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
    )
    resources: list[Any] = []

    def use() -> None:
        # As a request thread would: its own resource, twice the same within the thread.
        first = storage.connection
        assert storage.connection is first
        resources.append(first)
        resources.append(storage.unsigned_connection)

    threads = [threading.Thread(target=use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == 1  # django-storages alone makes one per thread and kind: 16
    assert len({id(r) for r in resources}) == 16
