"""The Harbor settings page (/<lang>/harbor/settings/): a tenant admin's own tenant's
attachment limit (within the global ceiling) and link previews on or off."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from harbor_messaging.api import AuthedRequest
from harbor_messaging.errors import HarborError, InvalidInput
from harbor_messaging.media import filetypes
from harbor_messaging.media.actions import do_set_tenant_limit
from harbor_messaging.media.selectors import (
    global_allowed_types,
    global_max_file_size,
    tenant_allowed_types,
    tenant_override,
)

from .actions import check_tenant_admin, do_set_link_previews
from .selectors import link_previews_enabled_for, tenant_access_for_request

MiB = 1024 * 1024


def _mib(raw: str) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 9:
        raise InvalidInput(_("Give the limit as a whole number of MiB."), field="max_file_size_mib")
    return int(raw) * MiB


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def tenant_settings(request: AuthedRequest) -> HttpResponse:
    slug = request.POST.get("tenantId") if request.method == "POST" else request.GET.get("tenantId")
    try:
        access = tenant_access_for_request(request, slug)
        check_tenant_admin(access)
    except HarborError as error:
        return render(
            request, "harbor/settings.html", {"refusal": error.message}, status=error.status
        )
    if request.method == "POST":
        try:
            do_set_tenant_limit(
                access=access,
                max_file_size=_mib(request.POST.get("max_file_size_mib", "")),
                # No box ticked sends nothing: the tenant then uses the global list.
                allowed_types=request.POST.getlist("allowed_types"),
            )
            if settings.LINKPREVIEW_ENABLED:  # Else the box is disabled and never sent.
                do_set_link_previews(
                    access=access, enabled=request.POST.get("link_previews") == "on"
                )
            messages.success(request, _("The settings are saved."))
        except HarborError as error:
            messages.error(request, error.message)
        return HttpResponseRedirect(
            reverse("tenant-settings") + "?" + urlencode({"tenantId": access.tenant.slug})
        )
    own = tenant_override(access.tenant)
    own_types = set(tenant_allowed_types(access.tenant))
    return render(
        request,
        "harbor/settings.html",
        {
            "tenant": access.tenant,
            "limit_mib": "" if own is None else max(1, own // MiB),
            "default_limit": global_max_file_size(),
            "ceiling": int(settings.HARBOR_MEDIA_MAX_FILE_SIZE_CAP),
            "ceiling_mib": int(settings.HARBOR_MEDIA_MAX_FILE_SIZE_CAP) // MiB,
            "types": [
                {"value": t, "label": filetypes.label_for(t), "checked": t in own_types}
                for t in sorted(global_allowed_types())
            ],
            "link_previews": link_previews_enabled_for(access.tenant),
            "previews_site_wide": bool(settings.LINKPREVIEW_ENABLED),
        },
    )
