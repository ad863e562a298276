"""The messaging page: the list, the reader and the composer, rendered on the server."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from harbor_messaging.api import AuthedRequest
from harbor_messaging.errors import HarborError
from harbor_messaging.tenants.selectors import tenant_access_for_request

from . import selectors

PAGE_SIZE = 30


@login_required
@require_GET
def messaging_page(request: AuthedRequest) -> HttpResponse:
    try:
        access = tenant_access_for_request(request, None)
    except HarborError:
        return render(request, "messaging/no_tenant.html", status=200)
    box = "sent" if request.GET.get("box") == "sent" else "inbox"
    if box == "inbox":
        page = selectors.inbox_page(user=request.user, tenant=access.tenant, limit=PAGE_SIZE)
    else:
        page = selectors.sent_page(user=request.user, tenant=access.tenant, limit=PAGE_SIZE)
    return render(
        request,
        "messaging/page.html",
        {
            "access": access,
            "tenant": access.tenant,
            "box": box,
            "items": page.items,
            "next_cursor": page.next_cursor,
            "stats": selectors.stats_for(request.user, access.tenant),
            "can_message_all": access.can_message_all,
        },
    )
