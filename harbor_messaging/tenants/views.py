"""Harbor platform pages: the home page, switching the current tenant, a health check."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from harbor_messaging.errors import HarborError

from .selectors import SESSION_TENANT_KEY, current_tenant_slug, memberships_of, tenant_access


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "harbor/home.html",
        {
            "memberships": memberships_of(request.user),
            "current_slug": current_tenant_slug(request),
        },
    )


@login_required
@require_POST
def switch_tenant(request: HttpRequest) -> HttpResponse:
    slug = request.POST.get("tenant", "")
    try:
        access = tenant_access(request.user, slug)
    except HarborError:
        return HttpResponse("No such tenant.", status=404, content_type="text/plain")
    request.session[SESSION_TENANT_KEY] = access.tenant.slug
    target = request.POST.get("next", "")
    if not target or not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("home")
    return HttpResponseRedirect(target)


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
