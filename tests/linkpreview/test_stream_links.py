"""A finished preview on the event stream, as a real SSE client reads it from a Daphne
whose own worker fetched it: message:update with links, to exactly the message's people."""

from __future__ import annotations

from typing import Any

import pytest

from tests import factories
from tests.live import login
from tests.sse import SSEStream

from .conftest import PageServer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]

PAGE = '<title>Pilot boarding</title><meta property="og:description" content="Ladder on starboard">'


def stream(client: Any, slug: str = "acme") -> SSEStream:
    return SSEStream(client, f"/api/messaging/stream/{slug}/")


def test_a_finished_preview_reaches_exactly_the_messages_people(
    world: dict[str, Any], preview_daphne: Any, site: PageServer
) -> None:
    direct = site.page("/sse/direct", PAGE, delay=0.3)
    everyone = site.page("/sse/all", PAGE, delay=0.3)
    clients = {
        name: login(preview_daphne.url, name, factories.PASSWORD)
        for name in ("ann", "bo", "cy", "dee")
    }
    with (
        stream(clients["ann"]) as ann,
        stream(clients["bo"]) as bo,
        stream(clients["cy"]) as cy,
        stream(clients["dee"], "globex") as dee,
    ):
        sent = clients["ann"].post(
            "/api/messaging/send",
            json={
                "tenantId": "acme",
                "recipientIds": [world["bo"].pk],
                "subject": "Pilot",
                "body": f"See {direct}",
            },
        )
        assert sent.status_code == 201, sent.text
        assert [link["status"] for link in sent.json()["links"]] == ["pending"]
        for reader in (ann, bo):
            new, update = reader.take(2, timeout=20)
            assert new.event == "message:new"
            assert new.data["data"]["payload"]["message"]["links"][0]["status"] == "pending"
            assert update.event == "message:update"
            assert update.data["data"]["messageId"] == sent.json()["id"]
            (link,) = update.data["data"]["payload"]["links"]
            assert (link["status"], link["title"], link["description"]) == (
                "ready",
                "Pilot boarding",
                "Ladder on starboard",
            )
        assert cy.quiet(0.3) == []

        # To the whole tenant: one copy each, the sender's own included, none twice.
        wide = clients["ann"].post(
            "/api/messaging/send",
            json={"tenantId": "acme", "recipientIds": "all", "body": f"All: {everyone}"},
        )
        assert wide.status_code == 201, wide.text
        for reader in (ann, bo, cy):
            new, update = reader.take(2, timeout=20)
            assert (new.event, update.event) == ("message:new", "message:update")
            assert update.data["data"]["payload"]["links"][0]["status"] == "ready"
            assert reader.quiet(0.3) == []
        assert dee.quiet(0.1) == []
    for client in clients.values():
        client.close()
    assert site.hits.count("/sse/direct") == 1
    assert site.hits.count("/sse/all") == 1
