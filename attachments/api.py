"""The attachment endpoints of API.md: upload, attach from the library, remove, list and
download."""

from __future__ import annotations

import re

from django.conf import settings
from django.http import HttpResponse

from harbor_messaging.api import AuthedRequest, api_view, json_response, parse_json_body
from harbor_messaging.errors import HarborError, InvalidInput, NotFound
from harbor_messaging.fields import MAX_DB_ID, id_list, id_value, reject_unknown
from harbor_messaging.media import actions as media_actions
from harbor_messaging.media.downloads import stored_file_response
from harbor_messaging.media.models import MediaFile
from harbor_messaging.media.selectors import allowed_types_for, max_file_size_for
from harbor_messaging.media.uploads import received_files, streaming_uploads
from harbor_messaging.ratelimit import check_rate
from harbor_messaging.tenants.selectors import tenant_access_for_request
from messaging.selectors import message_for_viewer

from . import actions, selectors
from .models import MessageAttachment

_FORM_FIELDS = {"tenantId", "messageId", "csrfmiddlewaretoken"}


def _form_id(raw: str | None, name: str) -> int | None:
    if raw is None or raw == "":
        return None
    if not re.fullmatch(r"[0-9]{1,19}", raw) or not 1 <= int(raw) <= MAX_DB_ID:
        raise InvalidInput(f"{name} must be a positive integer id.", field=name)
    return int(raw)


def _upload(request: AuthedRequest) -> HttpResponse:
    if not (request.content_type or "").startswith("multipart/form-data"):
        raise HarborError(
            "Send the files as multipart/form-data.", code="unsupported_type", status=415
        )
    files = received_files(request)
    unknown = sorted(set(request.POST) - _FORM_FIELDS)
    if unknown:
        raise InvalidInput(
            f"Unknown field: {', '.join(unknown)}.", field=unknown[0], details={"unknown": unknown}
        )
    access = tenant_access_for_request(request, request.POST.get("tenantId"))
    check_rate("upload", request, tenant=access.tenant.slug)
    message_id = _form_id(request.POST.get("messageId"), "messageId")
    if not files:
        raise InvalidInput("Send one or more files in the field 'files'.", field="files")
    most = int(settings.HARBOR_UPLOAD_MAX_FILES)
    if len(files) > most:
        raise InvalidInput(
            f"At most {most} files at once.", field="files", details={"maxItems": most}
        )
    if message_id is not None:
        message = actions.check_sender_of(user=request.user, message_id=message_id)
        if message.tenant_id != access.tenant.pk:
            raise NotFound("No such message in this tenant.", details={"field": "messageId"})
    checked = media_actions.check_uploads(
        files, limit=max_file_size_for(access.tenant), allowed=allowed_types_for(access.tenant)
    )
    if message_id is None:
        rows = media_actions.do_add_files(
            tenant=access.tenant,
            owner=request.user,
            checked=checked,
            origin=MediaFile.Origin.UPLOAD,
        )
        return json_response(
            {
                "uploads": [
                    {
                        "uploadId": row.pk,
                        "mediaFileId": row.pk,
                        "fileName": row.name,
                        "fileSize": row.size,
                        "contentType": row.content_type,
                        "thumbnailUrl": (
                            f"/api/media/files/{row.pk}/thumbnail" if row.thumbnail else None
                        ),
                    }
                    for row in rows
                ]
            },
            status=201,
        )
    attached = actions.do_upload_and_attach(
        user=request.user, message_id=message_id, tenant=access.tenant, checked=checked
    )
    return json_response({"attachments": _json(attached)}, status=201)


upload = streaming_uploads(api_view(["POST"])(_upload))


def _json(attachments: list[MessageAttachment]) -> list[dict[str, object]]:
    return [
        selectors.attachment_json(a, has_thumbnail=bool(a.media_file.thumbnail))
        for a in attachments
    ]


@api_view(["POST"])
def attach(request: AuthedRequest) -> HttpResponse:
    data = parse_json_body(request)
    reject_unknown(data, {"messageId", "mediaFileIds"})
    if "messageId" not in data:
        raise InvalidInput("messageId is required.", field="messageId")
    message_id = id_value(data["messageId"], "messageId")
    ids = id_list(data, "mediaFileIds", max_items=actions.MAX_PER_MESSAGE, required=True)
    if not ids:
        raise InvalidInput("Name one or more media files.", field="mediaFileIds")
    message = actions.check_sender_of(user=request.user, message_id=message_id)
    files = actions.check_files_to_attach(
        user=request.user, tenant=message.tenant, media_file_ids=ids
    )
    attached = actions.do_attach_files(message=message, files=files)
    return json_response({"attachments": _json(attached)}, status=201)


@api_view(["GET", "DELETE"])
def by_id(request: AuthedRequest, object_id: int) -> HttpResponse:
    """API.md puts two things at one path: GET lists a message's attachments (the id is the
    message's), DELETE removes one attachment (the id is the attachment's)."""
    if request.method == "DELETE":
        actions.do_remove_attachment(user=request.user, attachment_id=object_id)
        return HttpResponse(status=204)
    viewed = message_for_viewer(user=request.user, message_id=object_id)
    return json_response(
        {
            "messageId": viewed.message.pk,
            "attachmentCount": viewed.message.attachment_count,
            "attachments": selectors.attachments_of(viewed.message),
        }
    )


@api_view(["GET"])
def download(request: AuthedRequest, attachment_id: int) -> HttpResponse:
    attachment = selectors.attachment_for_download(user=request.user, attachment_id=attachment_id)
    return stored_file_response(
        attachment.media_file.file.name or "",
        name=attachment.file_name,
        content_type=attachment.content_type,
    )


@api_view(["GET"])
def thumbnail(request: AuthedRequest, attachment_id: int) -> HttpResponse:
    attachment = selectors.attachment_for_download(user=request.user, attachment_id=attachment_id)
    if not attachment.media_file.thumbnail:
        raise NotFound("This attachment has no thumbnail.")
    return stored_file_response(
        attachment.media_file.thumbnail.name or "",
        name=attachment.file_name,
        content_type=attachment.content_type,
        as_thumbnail=True,
    )
