"""The API over real HTTP against a running Daphne."""

from __future__ import annotations

from typing import Any

import pytest

from tests import factories
from tests.live import login

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]


def test_send_and_read_over_http(world: dict[str, Any], live_daphne: Any) -> None:
    bo = login(live_daphne.url, "bo", factories.PASSWORD)
    ann = login(live_daphne.url, "ann", factories.PASSWORD)
    sent = bo.post(
        "/api/messaging/send",
        json={
            "tenantId": "acme",
            "recipientIds": [world["ann"].pk],
            "subject": "Live",
            "body": "ünïcode ✓",
        },
    )
    assert sent.status_code == 201, sent.text
    message = sent.json()
    assert ann.get("/api/messaging/unread-count", params={"tenantId": "acme"}).json() == {
        "tenantId": "acme",
        "count": 1,
    }
    read = ann.post(f"/api/messaging/messages/{message['id']}/read", json={"read": True})
    assert read.status_code == 200
    assert read.json()["isRead"] is True
    assert ann.get("/api/messaging/unread-count", params={"tenantId": "acme"}).json()["count"] == 0
    no_csrf = bo.post(
        "/api/messaging/send",
        json={"recipientIds": [world["ann"].pk], "body": "x"},
        headers={"X-CSRFToken": ""},
    )
    assert no_csrf.status_code == 403
    assert no_csrf.json()["error"]["code"] == "forbidden"
