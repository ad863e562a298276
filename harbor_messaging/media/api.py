"""The media library's JSON endpoints: the picker's list, and a file's bytes for its owner."""

from __future__ import annotations

from django.http import HttpResponse

from harbor_messaging.api import AuthedRequest, api_view, json_response
from harbor_messaging.errors import NotFound
from harbor_messaging.fields import query_int, query_text
from harbor_messaging.tenants.selectors import tenant_access_for_request

from .downloads import stored_file_response
from .selectors import LIBRARY_PAGE, library_of, media_file_json, own_file


@api_view(["GET"])
def files(request: AuthedRequest) -> HttpResponse:
    access = tenant_access_for_request(request, request.GET.get("tenantId"))
    q = query_text(request.GET, "q", max_length=100)
    limit = query_int(request.GET, "limit", default=LIBRARY_PAGE, minimum=1, maximum=LIBRARY_PAGE)
    rows = library_of(request.user, access.tenant)
    if q:
        rows = rows.filter(name__icontains=q)
    return json_response(
        {"tenantId": access.tenant.slug, "results": [media_file_json(f) for f in rows[:limit]]}
    )


@api_view(["GET"])
def download(request: AuthedRequest, file_id: int) -> HttpResponse:
    media_file = own_file(request.user, file_id)
    return stored_file_response(
        media_file.file.name or "", name=media_file.name, content_type=media_file.content_type
    )


@api_view(["GET"])
def thumbnail(request: AuthedRequest, file_id: int) -> HttpResponse:
    media_file = own_file(request.user, file_id)
    if not media_file.thumbnail:
        raise NotFound("This file has no thumbnail.")
    return stored_file_response(
        media_file.thumbnail.name or "",
        name=media_file.name,
        content_type=media_file.content_type,
        as_thumbnail=True,
    )
