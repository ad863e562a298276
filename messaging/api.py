"""The messaging JSON endpoints of API.md: parse, call an action or selector, answer JSON."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse

from harbor_messaging.api import AuthedRequest, api_view, json_response, parse_json_body
from harbor_messaging.errors import InvalidInput
from harbor_messaging.fields import (
    bool_field,
    id_list,
    optional_id,
    query_bool,
    query_int,
    query_text,
    reject_unknown,
    text_field,
)
from harbor_messaging.ratelimit import check_rate
from harbor_messaging.tenants.selectors import TenantAccess, tenant_access_for_request
from linkpreview.api import omitted_previews_field

from . import actions, selectors
from .models import BODY_MAX, RECIPIENTS_MAX, SUBJECT_MAX

ATTACHMENTS_MAX = 50


def _body_access(request: AuthedRequest, data: dict[str, Any]) -> TenantAccess:
    return tenant_access_for_request(request, data.get("tenantId"))


def _query_access(request: AuthedRequest) -> TenantAccess:
    return tenant_access_for_request(request, request.GET.get("tenantId"))


def _one(request: AuthedRequest, message_id: int) -> dict[str, Any]:
    viewed = selectors.message_for_viewer(user=request.user, message_id=message_id)
    return selectors.messages_json([viewed], viewer=request.user)[0]


@api_view(["POST"])
def send(request: AuthedRequest) -> HttpResponse:
    data = parse_json_body(request)
    reject_unknown(
        data,
        {
            "tenantId",
            "recipientIds",
            "subject",
            "body",
            "replyToId",
            "attachmentUploadIds",
            "mediaFileIds",
            "omitLinkPreviews",
        },
    )
    access = _body_access(request, data)
    check_rate("send", request, tenant=access.tenant.slug)
    # Desktop uploads (ids from /attachments/upload) and files picked from the media library.
    upload_ids = id_list(data, "attachmentUploadIds", max_items=ATTACHMENTS_MAX)
    media_file_ids = id_list(data, "mediaFileIds", max_items=ATTACHMENTS_MAX)
    raw_recipients = data.get("recipientIds")
    recipients: list[int] | str
    if raw_recipients == actions.ALL:
        recipients = actions.ALL
    else:
        recipients = id_list(data, "recipientIds", max_items=RECIPIENTS_MAX, required=True)
    subject = text_field(data, "subject", max_length=SUBJECT_MAX, multiline=False)
    body = text_field(data, "body", max_length=BODY_MAX)
    message = actions.do_send_message(
        sender=request.user,
        access=access,
        recipient_ids=recipients,  # type: ignore[arg-type]
        subject=subject,
        body=body,
        reply_to_id=optional_id(data, "replyToId"),
        # Links whose preview the sender dropped in the composer.
        omit_link_previews=omitted_previews_field(data),
        attachment_upload_ids=upload_ids,
        media_file_ids=media_file_ids,
    )
    # The sender's view of what was just stored, without reading it back: the message is
    # the sender's own and not in their inbox (re-reading it through the visibility
    # query joined every recipient row of a whole-tenant message).
    sent = selectors.messages_json([selectors.ViewedMessage(message, None)], viewer=request.user)[0]
    return json_response(sent, status=201)


@api_view(["GET"])
def message_list(request: AuthedRequest) -> HttpResponse:
    params = request.GET
    access = _query_access(request)
    box = params.get("box") or "inbox"
    if box not in {"inbox", "sent"}:
        raise InvalidInput("box must be inbox or sent.", field="box")
    limit = query_int(
        params, "limit", default=selectors.PAGE_DEFAULT, minimum=1, maximum=selectors.PAGE_MAX
    )
    q = query_text(params, "q", max_length=selectors.SEARCH_MAX)
    cursor = params.get("cursor") or None
    unread_only = query_bool(params, "unread")
    if box == "inbox":
        page = selectors.inbox_page(
            user=request.user,
            tenant=access.tenant,
            unread_only=unread_only,
            q=q,
            limit=limit,
            cursor=cursor,
        )
    else:
        page = selectors.sent_page(
            user=request.user, tenant=access.tenant, q=q, limit=limit, cursor=cursor
        )
    return json_response(
        {
            "results": selectors.rows_json(page.items, viewer=request.user),
            "nextCursor": page.next_cursor,
        }
    )


@api_view(["GET", "PATCH", "DELETE"])
def message_detail(request: AuthedRequest, message_id: int) -> HttpResponse:
    if request.method in {"GET", "HEAD"}:
        return json_response(_one(request, message_id))
    if request.method == "DELETE":
        actions.do_delete_message(user=request.user, message_id=message_id)
        return HttpResponse(status=204)
    data = parse_json_body(request)
    reject_unknown(data, {"subject", "body"})
    subject = (
        text_field(data, "subject", max_length=SUBJECT_MAX, multiline=False)
        if data.get("subject") is not None
        else None
    )
    body = text_field(data, "body", max_length=BODY_MAX) if data.get("body") is not None else None
    actions.do_edit_message(user=request.user, message_id=message_id, subject=subject, body=body)
    return json_response(_one(request, message_id))


@api_view(["POST"])
def mark_read(request: AuthedRequest, message_id: int) -> HttpResponse:
    data = parse_json_body(request)
    reject_unknown(data, {"read"})
    read = bool_field(data, "read", default=True)
    viewed = actions.do_mark_read(user=request.user, message_id=message_id, read=read)
    return json_response(selectors.messages_json([viewed], viewer=request.user)[0])


@api_view(["POST"])
def mark_all_read(request: AuthedRequest) -> HttpResponse:
    data = parse_json_body(request)
    reject_unknown(data, {"tenantId"})
    access = _body_access(request, data)
    return json_response({"updated": actions.do_mark_all_read(user=request.user, access=access)})


@api_view(["GET"])
def unread_count(request: AuthedRequest) -> HttpResponse:
    slug = request.GET.get("tenantId")
    if slug:
        access = _query_access(request)
        return json_response(
            {
                "tenantId": access.tenant.slug,
                "count": selectors.unread_count_for(request.user.id, access.tenant),
            }
        )
    by_tenant = selectors.unread_counts_by_tenant(request.user)
    return json_response({"count": sum(by_tenant.values()), "byTenant": by_tenant})


@api_view(["GET"])
def thread(request: AuthedRequest, thread_id: int) -> HttpResponse:
    items = selectors.thread_for_viewer(user=request.user, thread_id=thread_id)
    return json_response({"results": selectors.messages_json(items, viewer=request.user)})


@api_view(["GET"])
def members(request: AuthedRequest) -> HttpResponse:
    access = _query_access(request)
    q = query_text(request.GET, "q", max_length=100)
    return json_response(
        {"results": selectors.addressable_members(access=access, viewer=request.user, q=q)}
    )


@api_view(["GET"])
def stats(request: AuthedRequest) -> HttpResponse:
    access = _query_access(request)
    return json_response(selectors.stats_for(request.user, access.tenant))
