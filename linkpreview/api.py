"""The link endpoints of docs/api.md ("Links"): find links in a draft, ask for a preview,
refresh or remove a sent message's previews, and serve the thumbnails we stored."""

from __future__ import annotations

import re
from typing import Any

from django.core.files.storage import default_storage
from django.http import HttpResponse

from harbor_messaging.api import AuthedRequest, api_view, json_response, parse_json_body
from harbor_messaging.errors import InvalidInput, NotFound
from harbor_messaging.fields import clean_text, id_value, reject_unknown, text_field
from harbor_messaging.ratelimit import check_rate
from messaging.models import BODY_MAX

from . import actions, selectors
from .inspection import URL_MAX, InvalidUrl, UnsupportedScheme
from .models import LinkPreview
from .thumbnails import CONTENT_TYPE

_THUMBNAIL_NAME = re.compile(r"[A-Za-z0-9_-]{16,64}\.jpg")


def omitted_previews_field(data: dict[str, Any], name: str = "omitLinkPreviews") -> list[str]:
    """The send API's optional list of URLs whose preview the sender dropped."""
    value = data.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidInput(f"{name} must be a list of URLs.", field=name)
    if len(value) > actions.LINKS_PER_MESSAGE:
        raise InvalidInput(
            f"{name} holds more than {actions.LINKS_PER_MESSAGE} URLs.",
            field=name,
            details={"maxItems": actions.LINKS_PER_MESSAGE},
        )
    return [clean_text(item, name, max_length=URL_MAX, multiline=False) for item in value]


def _url_param(raw: Any, name: str = "url") -> str:
    if raw is None or raw == "":
        raise InvalidInput(f"{name} is required.", field=name)
    if not isinstance(raw, str):
        raise InvalidInput(f"{name} must be a string.", field=name)
    return clean_text(raw, name, max_length=URL_MAX, multiline=False).strip()


@api_view(["POST"])
def process(request: AuthedRequest) -> HttpResponse:
    data = parse_json_body(request)
    reject_unknown(data, {"text"})
    check_rate("links", request)
    text = text_field(data, "text", max_length=BODY_MAX, required=True)
    links = [
        selectors.process_json(
            info,
            previewable=(
                index < actions.PREVIEWS_PER_MESSAGE and actions.static_refusal(info) is None
            ),
        )
        for index, info in enumerate(actions.found_links(text))
    ]
    return json_response({"links": links})


@api_view(["GET"])
def preview(request: AuthedRequest) -> HttpResponse:
    url = _url_param(request.GET.get("url"))
    check_rate("link_preview", request)
    try:
        found = actions.do_request_preview(url=url)
    except UnsupportedScheme as exc:
        raise actions.PreviewUnavailable(
            "Only http and https links are previewed.", details={"reason": "bad_url"}
        ) from exc
    except InvalidUrl as exc:
        raise InvalidInput(f"url is not an http or https URL: {exc}", field="url") from exc
    if found.status == LinkPreview.Status.READY:
        return json_response(selectors.preview_json(found))
    response = json_response({"status": "pending"}, status=202)
    response["Retry-After"] = "1"
    return response


def _message_and_url(data: dict[str, Any]) -> tuple[int, str | None]:
    reject_unknown(data, {"messageId", "url"})
    if "messageId" not in data:
        raise InvalidInput("messageId is required.", field="messageId")
    message_id = id_value(data["messageId"], "messageId")
    url = _url_param(data["url"]) if data.get("url") is not None else None
    return message_id, url


@api_view(["POST"])
def refresh(request: AuthedRequest) -> HttpResponse:
    data = parse_json_body(request)
    message_id, url = _message_and_url(data)
    check_rate("link_refresh", request)
    links = actions.do_refresh_previews(user=request.user, message_id=message_id, url=url)
    return json_response({"messageId": message_id, "links": links}, status=202)


@api_view(["POST"])
def remove(request: AuthedRequest) -> HttpResponse:
    data = parse_json_body(request)
    message_id, url = _message_and_url(data)
    check_rate("link_remove", request)
    links = actions.do_remove_previews(user=request.user, message_id=message_id, url=url)
    return json_response({"messageId": message_id, "links": links})


@api_view(["GET"])
def thumbnail(request: AuthedRequest, name: str) -> HttpResponse:
    """A thumbnail we re-encoded, from our storage; its name is an unguessable token."""
    if not _THUMBNAIL_NAME.fullmatch(name):
        raise NotFound("No such thumbnail.")
    path = f"{actions.THUMBNAIL_DIR}/{name}"
    try:
        with default_storage.open(path, "rb") as handle:
            content = handle.read()  # A few dozen kilobytes: we made it.
    except (FileNotFoundError, OSError) as exc:
        raise NotFound("No such thumbnail.") from exc
    response = HttpResponse(content, content_type=CONTENT_TYPE)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    # Written once under a fresh name, never changed: the browser may keep it.
    response["Cache-Control"] = "private, max-age=86400, immutable"
    return response
