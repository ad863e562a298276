from __future__ import annotations

from typing import Any

import pytest

from messaging.models import Message, MessageRecipient

pytestmark = pytest.mark.django_db(transaction=True)


def test_send_then_recipient_sees_it(world: dict[str, Any], api: Any, published: list[Any]) -> None:
    bo = api(world["bo"])
    r = bo.post(
        "/api/messaging/send", {"tenantId": "acme", "recipientIds": [world["ann"].pk], "body": "hi"}
    )
    assert r.status_code == 201, r.content
    assert [e.type for e in published] == ["message:new", "message:new"]
    ann = api(world["ann"])
    listing = ann.get("/api/messaging/messages", {"tenantId": "acme"}).json()
    assert [m["body"] for m in listing["results"]] == ["hi"]
    assert Message.objects.count() == 1
    assert MessageRecipient.objects.count() == 1
