"""The messaging page: the list, the reader and the composer, rendered on the server."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from harbor_messaging.api import AuthedRequest
from harbor_messaging.errors import HarborError
from harbor_messaging.tenants.selectors import tenant_access_for_request

from . import selectors
from .context_processors import stream_position

PAGE_SIZE = 30
BOXES = ("inbox", "sent")


@login_required
@require_GET
def messaging_page(request: AuthedRequest) -> HttpResponse:
    try:
        access = tenant_access_for_request(request, None)
    except HarborError:
        return render(request, "messaging/no_tenant.html", status=200)
    # First the stream position, then the rows and counts: what happens in between is
    # replayed to the page's stream, and the script drops what it already shows.
    stream_position(request, access.tenant.slug, user_id=request.user.pk)
    box = request.GET.get("box") if request.GET.get("box") in BOXES else "inbox"
    # The search box round-trips through the page URL; the list API takes the same q.
    q = " ".join(request.GET.get("q", "").split())[: selectors.SEARCH_MAX]
    if box == "inbox":
        page = selectors.inbox_page(user=request.user, tenant=access.tenant, q=q, limit=PAGE_SIZE)
    else:
        page = selectors.sent_page(user=request.user, tenant=access.tenant, q=q, limit=PAGE_SIZE)
    # Rows are rendered from the same JSON the script receives, so both render alike.
    rows: list[dict[str, Any]] = selectors.rows_json(page.items, viewer=request.user)
    for row, item in zip(rows, page.items, strict=True):
        row["created"] = item.created_at
    return render(
        request,
        "messaging/page.html",
        {
            "access": access,
            "tenant": access.tenant,
            "box": box,
            "q": q,
            "rows": rows,
            "next_cursor": page.next_cursor,
            "stats": selectors.stats_for(request.user, access.tenant),
            "can_message_all": access.can_message_all,
            "page_size": PAGE_SIZE,
        },
    )
