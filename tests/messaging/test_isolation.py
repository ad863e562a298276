"""Tenants apart: nothing of tenant B can be read, changed, counted or addressed from A."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from harbor_messaging.tenants.models import Membership
from messaging.models import Message
from tests import factories

from .expect import db_state, error

pytestmark = pytest.mark.django_db

SEND = "/api/messaging/send"
LIST = "/api/messaging/messages"
COUNT = "/api/messaging/unread-count"


@pytest.fixture
def scene(world: dict[str, Any]) -> dict[str, Any]:
    """acme: bo → ann, cy. globex: dee → cy, cy → dee, and a whole-tenant one from dee."""
    acme, globex = world["acme"], world["globex"]
    eli = factories.make_member(globex, "eli", name="Eli Sato")
    return {
        **world,
        "eli": eli,
        "in_acme": factories.send(world["bo"], acme, [world["ann"], world["cy"]], subject="acme"),
        "in_globex": factories.send(world["dee"], globex, [world["cy"], eli], subject="globex"),
        "cy_in_globex": factories.send(world["cy"], globex, [world["dee"]], subject="cy-globex"),
        "globex_all": factories.send(world["dee"], globex, "all", subject="globex-all"),
    }


def _every_message_call(message_id: int) -> list[tuple[str, str, Any]]:
    return [
        ("GET", f"/api/messaging/messages/{message_id}", None),
        ("PATCH", f"/api/messaging/messages/{message_id}", {"body": "taken over"}),
        ("POST", f"/api/messaging/messages/{message_id}/read", {"read": True}),
        ("POST", f"/api/messaging/messages/{message_id}/read", {"read": False}),
        ("GET", f"/api/messaging/threads/{message_id}", None),
        ("DELETE", f"/api/messaging/messages/{message_id}", None),
    ]


def _call(client: Any, method: str, url: str, payload: Any) -> Any:
    if method == "GET":
        return client.get(url)
    if method == "DELETE":
        return client.delete(url)
    if method == "PATCH":
        return client.patch(url, payload)
    return client.post(url, payload)


@pytest.mark.parametrize("who", ["ann", "bo"])
@pytest.mark.parametrize("which", ["in_globex", "cy_in_globex", "globex_all"])
def test_another_tenants_message_is_404_for_every_call(
    scene: dict[str, Any], api: Any, who: str, which: str
) -> None:
    client = api(scene[who])
    message: Message = scene[which]
    before = db_state()
    for method, url, payload in _every_message_call(message.pk):
        error(_call(client, method, url, payload), 404, "not_found")
    assert db_state() == before


def test_a_tenant_b_member_cannot_touch_tenant_a_messages(scene: dict[str, Any], api: Any) -> None:
    dee = api(scene["dee"])
    before = db_state()
    for method, url, payload in _every_message_call(scene["in_acme"].pk):
        error(_call(dee, method, url, payload), 404, "not_found")
    assert db_state() == before


@pytest.mark.parametrize(
    ("method", "path", "payload"),
    [
        ("GET", "/api/messages", None),
        ("GET", LIST, None),
        ("GET", LIST + "?box=sent", None),
        ("GET", COUNT, None),
        ("GET", "/api/messaging/members", None),
        ("GET", "/api/messaging/stats", None),
        ("POST", "/api/messaging/messages/read-all", {}),
        ("POST", SEND, {"recipientIds": [1], "body": "x"}),
    ],
)
@pytest.mark.parametrize("slug", ["globex", "nowhere"])
def test_tenant_id_of_a_tenant_one_is_not_in_is_404(
    scene: dict[str, Any], api: Any, method: str, path: str, payload: Any, slug: str
) -> None:
    bo = api(scene["bo"])
    before = db_state()
    if method == "GET":
        sep = "&" if "?" in path else "?"
        response = bo.get(f"{path}{sep}tenantId={slug}")
    else:
        response = bo.post(path, {**payload, "tenantId": slug})
    err = error(response, 404, "not_found")
    # A tenant that exists and one that does not are told apart by nothing.
    assert err["message"] == "No such tenant."
    assert db_state() == before


def test_recipients_from_another_tenant_are_400(scene: dict[str, Any], api: Any) -> None:
    before = db_state()
    bo = api(scene["bo"])
    for recipients in ([scene["dee"].pk], [scene["ann"].pk, scene["eli"].pk]):
        response = bo.post(SEND, {"tenantId": "acme", "recipientIds": recipients, "body": "x"})
        error(response, 400, "invalid", field="recipientIds")
    # cy is in both tenants, but in globex only globex members may be addressed.
    cy = api(scene["cy"])
    response = cy.post(SEND, {"tenantId": "globex", "recipientIds": [scene["bo"].pk], "body": "x"})
    error(response, 400, "invalid", field="recipientIds")
    assert db_state() == before


def test_a_reply_to_another_tenants_message_is_400(scene: dict[str, Any], api: Any) -> None:
    before = db_state()
    # bo cannot see the globex message at all.
    response = api(scene["bo"]).post(
        SEND,
        {
            "tenantId": "acme",
            "recipientIds": [scene["ann"].pk],
            "body": "x",
            "replyToId": scene["in_globex"].pk,
        },
    )
    error(response, 400, "invalid", field="replyToId")
    # cy can see it, but a reply lives in the tenant of what it answers.
    response = api(scene["cy"]).post(
        SEND,
        {
            "tenantId": "acme",
            "recipientIds": [scene["ann"].pk],
            "body": "x",
            "replyToId": scene["in_globex"].pk,
        },
    )
    error(response, 400, "invalid", field="replyToId")
    assert db_state() == before


def test_counts_and_stats_never_include_another_tenant(scene: dict[str, Any], api: Any) -> None:
    dee = api(scene["dee"])
    assert dee.get(COUNT).json() == {"count": 1, "byTenant": {"globex": 1}}
    assert dee.get("/api/messaging/stats", {"tenantId": "globex"}).json() == {
        "total": 1,
        "unread": 1,
        "sent": 2,
        "withAttachments": 0,
    }
    ann = api(scene["ann"])
    assert ann.get(COUNT).json() == {"count": 1, "byTenant": {"acme": 1}}
    assert ann.get("/api/messaging/stats", {"tenantId": "acme"}).json()["total"] == 1
    # read-all in one tenant leaves the other alone.
    cy = api(scene["cy"])
    assert cy.post("/api/messaging/messages/read-all", {"tenantId": "globex"}).json() == {
        "updated": 2
    }
    assert cy.get(COUNT).json() == {"count": 1, "byTenant": {"acme": 1, "globex": 0}}


def test_a_user_in_two_tenants_sees_each_apart(scene: dict[str, Any], api: Any) -> None:
    cy = api(scene["cy"])

    def subjects(**params: str) -> list[str]:
        response = cy.get(LIST, params)
        assert response.status_code == 200
        assert all(m["tenantId"] == params["tenantId"] for m in response.json()["results"])
        return [m["subject"] for m in response.json()["results"]]

    assert subjects(tenantId="acme") == ["acme"]
    assert subjects(tenantId="globex") == ["globex-all", "globex"]
    assert subjects(tenantId="acme", box="sent") == []
    assert subjects(tenantId="globex", box="sent") == ["cy-globex"]
    assert subjects(tenantId="globex", q="acme") == []
    assert cy.get(COUNT).json() == {"count": 3, "byTenant": {"acme": 1, "globex": 2}}
    acme_members = cy.get("/api/messaging/members", {"tenantId": "acme"}).json()["results"]
    globex_members = cy.get("/api/messaging/members", {"tenantId": "globex"}).json()["results"]
    assert {m["username"] for m in acme_members} == {"ann", "bo"}
    assert {m["username"] for m in globex_members} == {"dee", "eli"}
    # The detail of each is there, with its own tenant.
    assert cy.get(f"/api/messaging/messages/{scene['in_globex'].pk}").json()["tenantId"] == "globex"
    assert cy.get(f"/api/messaging/messages/{scene['in_acme'].pk}").json()["tenantId"] == "acme"


def test_a_tenant_admins_all_stays_in_their_tenant(scene: dict[str, Any], api: Any) -> None:
    response = api(scene["ann"]).post(
        SEND, {"tenantId": "acme", "recipientIds": "all"} | {"body": "acme only"}
    )
    assert response.status_code == 201
    assert response.json()["recipientCount"] == 2
    assert api(scene["dee"]).get(COUNT).json()["count"] == 1
    assert api(scene["eli"]).get(COUNT).json()["count"] == 2
    # An admin of acme is a subscriber elsewhere: no "all" in globex.
    Membership.objects.filter(user=scene["cy"], tenant=scene["acme"]).update(role="tenant_admin")
    refused = api(scene["cy"]).post(
        SEND, {"tenantId": "globex", "recipientIds": "all", "body": "x"}
    )
    error(refused, 403, "forbidden")


def test_a_member_removed_from_a_tenant_loses_its_messages(scene: dict[str, Any], api: Any) -> None:
    cy_user = scene["cy"]
    cy = api(cy_user)
    message = scene["in_acme"]
    assert cy.get(f"/api/messaging/messages/{message.pk}").status_code == 200
    Membership.objects.filter(user=cy_user, tenant=scene["acme"]).delete()
    before = db_state()
    for method, url, payload in _every_message_call(message.pk):
        error(_call(cy, method, url, payload), 404, "not_found")
    error(cy.get(LIST, {"tenantId": "acme"}), 404, "not_found")
    error(cy.get(COUNT, {"tenantId": "acme"}), 404, "not_found")
    assert cy.get(COUNT).json() == {"count": 2, "byTenant": {"globex": 2}}
    # The default tenant is now the one they still belong to.
    assert {m["tenantId"] for m in cy.get(LIST).json()["results"]} == {"globex"}
    assert db_state() == before
    # Nor may they be addressed there any more, one by one or as part of "all".
    bo = api(scene["bo"])
    response = bo.post(SEND, {"tenantId": "acme", "recipientIds": [cy_user.pk], "body": "x"})
    error(response, 400, "invalid", field="recipientIds")
    all_acme = api(scene["ann"]).post(
        SEND, {"tenantId": "acme", "recipientIds": "all", "body": "x"}
    )
    assert all_acme.json()["recipientCount"] == 1
    assert cy_user.pk not in [
        m["id"] for m in bo.get("/api/messaging/members", {"tenantId": "acme"}).json()["results"]
    ]
    # Others keep the message.
    assert api(scene["ann"]).get(f"/api/messaging/messages/{message.pk}").status_code == 200


def test_a_global_admin_sees_tenants_but_not_others_messages(
    scene: dict[str, Any], api: Any
) -> None:
    root = User.objects.create_superuser("root", password="x")
    client = api(root)
    assert client.get(LIST, {"tenantId": "globex"}).json() == {"results": [], "nextCursor": None}
    error(client.get(f"/api/messaging/messages/{scene['in_globex'].pk}"), 404, "not_found")
    members = client.get("/api/messaging/members", {"tenantId": "acme"}).json()["results"]
    assert {m["username"] for m in members} == {"ann", "bo", "cy"}
