"""docs/openapi.yaml is kept true: it is served at /api/schema/, names every JSON endpoint,
and every real answer of every endpoint (successes and errors) validates against it; a
bounded schemathesis run against a live Daphne finds no 500 and no answer off the schema."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from jsonschema import Draft202012Validator

from harbor_messaging.openapi import DOCUMENT
from tests import factories
from tests.attachments import files

DOC: dict[str, Any] = yaml.safe_load(DOCUMENT.read_text())

# Not JSON endpoints: the event stream (text/event-stream), file bytes, the ops figures.
NOT_JSON = re.compile(r"/stream/|/download$|/thumbnail$|/thumbnails/|^/api/ops/|^/api/schema/$")


def _template(path: str) -> str:
    """A concrete path's template in the document: /api/messaging/messages/17 -> .../{messageId}."""
    if path in DOC["paths"]:
        return path
    for template in DOC["paths"]:
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path):
            return template
    raise AssertionError(f"{path} is not in docs/openapi.yaml")


def _response_schema(method: str, path: str, status: int) -> dict[str, Any]:
    item = DOC["paths"][_template(path)]
    if method.lower() not in item:
        # A method the document does not list: only a 405 is a true answer.
        assert status == 405, f"{method} {path} answered {status}"
        return dict(DOC["components"]["responses"]["E405"])
    answer = item[method.lower()]["responses"].get(str(status))
    assert answer is not None, f"{method} {path} answered {status}, not in the document"
    if "$ref" in answer:
        answer = DOC["components"]["responses"][answer["$ref"].rsplit("/", 1)[1]]
    return answer


def check(method: str, path: str, response: Any) -> Any:
    """Validate a real answer against the document; returns the parsed JSON (or None)."""
    described = _response_schema(method, path.split("?")[0], response.status_code)
    content = described.get("content")
    if content is None:
        assert not response.content, (method, path, response.status_code)
        return None
    assert response["Content-Type"].startswith("application/json")
    schema = content["application/json"]["schema"]
    data = response.json()
    validator = Draft202012Validator({"allOf": [schema], "components": DOC["components"]})
    problems = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)
    ]
    assert not problems, (method, path, response.status_code, problems)
    for name in described.get("headers", {}):
        if described["headers"][name].get("required"):
            assert name in response, (method, path, name)
    return data


def _api_paths(resolver: URLResolver | None = None, prefix: str = "") -> list[str]:
    resolver = resolver or get_resolver()
    out: list[str] = []
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            out += _api_paths(entry, route)
        elif isinstance(entry, URLPattern) and route.startswith("api/"):
            out.append("/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route))
    return out


def test_the_document_is_served_and_valid(client: Client) -> None:
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert yaml.safe_load(response.content) == DOC
    assert client.get("/api/schema/", {"format": "json"}).json() == DOC
    assert DOC["openapi"].startswith("3.1")
    for schema in DOC["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


def test_every_json_endpoint_is_in_the_document() -> None:
    routes = [p for p in _api_paths() if not NOT_JSON.search(p)]
    documented = {re.sub(r"\{[^}]+\}", "{}", p) for p in DOC["paths"]}
    missing = [r for r in routes if re.sub(r"\{[^}]+\}", "{}", r) not in documented]
    assert missing == []


def test_every_endpoints_real_answers_match_the_document(world: dict[str, Any], api: Any) -> None:
    ann, bo, anonymous = api(world["ann"]), api(world["bo"]), api()
    acme = world["acme"]
    first = factories.send(
        world["bo"], acme, [world["ann"]], subject="First", body="see https://example.org"
    )

    def get(client: Any, path: str, params: dict[str, Any] | None = None) -> Any:
        return check("GET", path, client.get(path, params))

    def post(client: Any, path: str, data: Any = None, **kw: Any) -> Any:
        return check("POST", path, client.post(path, data, **kw))

    # Uploads (multipart) and a send carrying them.
    raw = Client()
    raw.force_login(world["bo"])
    up = check(
        "POST",
        "/api/messaging/attachments/upload",
        raw.post(
            "/api/messaging/attachments/upload",
            {"tenantId": "acme", "files": [SimpleUploadedFile("a.png", files.png())]},
        ),
    )
    upload_id = up["uploads"][0]["uploadId"]
    sent = post(
        bo,
        "/api/messaging/send",
        {
            "tenantId": "acme",
            "recipientIds": [world["ann"].pk],
            "subject": "Files",
            "body": "https://example.org/x",
            "attachmentUploadIds": [upload_id],
            "replyToId": first.pk,
        },
    )
    mid = sent["id"]
    to_all = post(
        ann, "/api/messaging/send", {"tenantId": "acme", "recipientIds": "all", "body": "all hands"}
    )
    assert to_all["audience"] == "tenant"
    with_message = check(
        "POST",
        "/api/messaging/attachments/upload",
        raw.post(
            "/api/messaging/attachments/upload",
            {
                "tenantId": "acme",
                "messageId": str(mid),
                "files": [SimpleUploadedFile("b.pdf", files.pdf())],
            },
        ),
    )
    library = get(bo, "/api/media/files", {"tenantId": "acme"})
    post(
        bo,
        "/api/messaging/attachments/attach",
        {"messageId": first.pk, "mediaFileIds": [library["results"][0]["id"]]},
    )
    get(bo, f"/api/messaging/attachments/{mid}")
    removed = f"/api/messaging/attachments/{with_message['attachments'][0]['id']}"
    check("DELETE", removed, bo.delete(removed))

    # Lists, one message, threads, counts.
    for client in (ann, bo):
        get(client, "/api/messages")
        get(client, "/api/messaging/messages", {"box": "sent", "limit": 1})
        get(client, "/api/messaging/messages", {"unread": "1", "q": "Files"})
        get(client, f"/api/messaging/messages/{mid}")
        get(client, f"/api/messaging/threads/{first.pk}")
        get(client, "/api/messaging/unread-count")
        get(client, "/api/messaging/unread-count", {"tenantId": "acme"})
        get(client, "/api/messaging/members", {"tenantId": "acme", "q": "b"})
        get(client, "/api/messaging/stats", {"tenantId": "acme"})
    page = get(ann, "/api/messaging/messages", {"limit": 1})
    get(ann, "/api/messaging/messages", {"cursor": page["nextCursor"]})
    check(
        "PATCH",
        f"/api/messaging/messages/{mid}",
        bo.patch(f"/api/messaging/messages/{mid}", {"subject": "Edited"}),
    )
    post(ann, f"/api/messaging/messages/{mid}/read", {"read": True})
    post(ann, f"/api/messaging/messages/{mid}/read", {"read": False})
    post(ann, "/api/messaging/messages/read-all", {"tenantId": "acme"})

    # Links.
    post(
        bo,
        "/api/messaging/links/process",
        {"text": "a http://xn--80ak6aa92e.com and https://1.2.3.4/"},
    )
    check(
        "GET",
        "/api/messaging/links/preview",
        bo.get("/api/messaging/links/preview", {"url": "http://127.0.0.1/"}),
    )
    check(
        "POST",
        "/api/messaging/links/remove",
        bo.post("/api/messaging/links/remove", {"messageId": mid}),
    )
    check(
        "POST",
        "/api/messaging/links/refresh",
        bo.post("/api/messaging/links/refresh", {"messageId": mid}),
    )

    # Errors: each is the Error object with the status the document names.
    get(anonymous, "/api/messaging/messages")
    get(ann, "/api/messaging/messages/999999")
    get(ann, "/api/messaging/messages", {"limit": "0"})
    get(ann, "/api/messaging/members", {"tenantId": "globex"})
    post(ann, "/api/messaging/send", raw="{not json")
    # A multipart Content-Type without a boundary (schemathesis found it answered 500).
    for path in ("/api/messaging/send", "/api/messaging/messages/read-all"):
        no_boundary = ann.client.post(
            path, b"{}", content_type="multipart/form-data", headers={"X-CSRFToken": ann.csrf}
        )
        assert check("POST", path, no_boundary)["error"]["code"] == "invalid"
    post(ann, "/api/messaging/send", {"recipientIds": [world["dee"].pk], "body": "x"})
    post(bo, "/api/messaging/send", {"recipientIds": "all", "body": "x"})
    post(ann, "/api/messaging/send", {"recipientIds": [1]}, csrf=False)
    check(
        "PATCH",
        f"/api/messaging/messages/{mid}",
        ann.patch(f"/api/messaging/messages/{mid}", {"subject": "not mine"}),
    )
    check("DELETE", "/api/messaging/messages/999999", ann.delete("/api/messaging/messages/999999"))
    check("POST", "/api/messaging/unread-count", ann.post("/api/messaging/unread-count", {}))
    check("DELETE", f"/api/messaging/messages/{mid}", ann.delete(f"/api/messaging/messages/{mid}"))
    check("DELETE", f"/api/messaging/messages/{mid}", bo.delete(f"/api/messaging/messages/{mid}"))


def test_a_rate_limited_answer_matches_the_document(
    world: dict[str, Any], api: Any, settings: Any
) -> None:
    import copy

    limits = copy.deepcopy(settings.HARBOR_RATE_LIMITS)
    limits["send"]["user"] = (0, 3600)
    settings.HARBOR_RATE_LIMITS = limits
    bo = api(world["bo"])
    data = check(
        "POST",
        "/api/messaging/send",
        bo.post("/api/messaging/send", {"recipientIds": [world["ann"].pk], "body": "x"}),
    )
    assert data["error"]["code"] == "rate_limited"


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_schemathesis_finds_no_500_and_no_answer_off_the_schema(
    world: dict[str, Any], live_daphne: Any, tmp_path: Any
) -> None:
    """A bounded run (few examples per operation, a time limit) of schemathesis's CLI, as a
    logged-in member, against a live Daphne, with the document's own checks."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    from tests.live import login

    st = shutil.which("st", path=str(Path(sys.executable).parent))
    if st is None:
        pytest.skip("schemathesis is not installed")
    factories.send(world["bo"], world["acme"], [world["ann"]], body="https://example.org")
    bo = login(live_daphne.url, "bo", factories.PASSWORD)
    cookies = "; ".join(f"{name}={value}" for name, value in bo.cookies.items())
    junit = tmp_path / "schemathesis.xml"
    result = subprocess.run(
        [
            st,
            "run",
            str(DOCUMENT),
            "--url",
            live_daphne.url,
            "-H",
            f"Cookie: {cookies}",
            "-H",
            f"X-CSRFToken: {bo.cookies.get('csrftoken')}",
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,"
            "response_schema_conformance,response_headers_conformance",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            "8",
            "--max-time",
            "60",
            "--seed",
            "6",
            "--request-timeout",
            "15",
            "--generation-with-security-parameters",
            "false",
            "--suppress-health-check",
            "all",
            "--report",
            "junit",
            "--report-junit-path",
            str(junit),
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    output = result.stdout + result.stderr
    (tmp_path / "schemathesis.log").write_text(output)
    assert result.returncode == 0, output[-8000:]
    assert "500" not in re.findall(r"\b5\d\d\b", output), output[-8000:]
