"""The media library page: browse, upload and delete one's own files in the current tenant.

Plain forms, no script needed: uploads post here (multipart), deletes post to their own URL.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from harbor_messaging.api import AuthedRequest
from harbor_messaging.errors import HarborError, InvalidInput
from harbor_messaging.ratelimit import check_rate
from harbor_messaging.tenants.selectors import tenant_access_for_request

from . import actions
from .models import MediaFile
from .selectors import (
    allowed_types_for,
    global_max_file_size,
    library_of,
    max_file_size_for,
    tenant_override,
)
from .uploads import received_files, streaming_uploads

PAGE_SIZE = 200


def _mib(size: int | None) -> str:
    return "" if size is None else str(max(1, size // (1024 * 1024)))


def _library_page(request: AuthedRequest) -> HttpResponse:
    try:
        access = tenant_access_for_request(request, None)
    except HarborError:
        return render(request, "messaging/no_tenant.html", status=200)
    if request.method == "POST":
        try:
            check_rate("upload", request, tenant=access.tenant.slug)
            files = received_files(request)
            if not files:
                messages.error(request, _("Choose one or more files to upload."))
            else:
                checked = actions.check_uploads(
                    files,
                    limit=max_file_size_for(access.tenant),
                    allowed=allowed_types_for(access.tenant),
                )
                rows = actions.do_add_files(
                    tenant=access.tenant,
                    owner=request.user,
                    checked=checked,
                    origin=MediaFile.Origin.MEDIA_LIBRARY,
                )
                messages.success(
                    request,
                    ngettext("%(count)d file uploaded.", "%(count)d files uploaded.", len(rows))
                    % {"count": len(rows)},
                )
        except HarborError as error:
            messages.error(request, error.message)
        return HttpResponseRedirect(reverse("media-library"))
    rows = list(library_of(request.user, access.tenant)[:PAGE_SIZE])
    return render(
        request,
        "media/library.html",
        {
            "tenant": access.tenant,
            "files": rows,
            "max_file_size": max_file_size_for(access.tenant),
            "accept": ",".join(sorted(allowed_types_for(access.tenant))),
            "max_files": settings.HARBOR_UPLOAD_MAX_FILES,
            "can_set_limit": access.is_global_admin
            or bool(access.membership and access.membership.is_tenant_admin),
            "tenant_limit_mib": _mib(tenant_override(access.tenant)),
            "default_limit": global_max_file_size(),
        },
    )


library = streaming_uploads(
    login_required(require_http_methods(["GET", "HEAD", "POST"])(csrf_protect(_library_page)))
)


@login_required
@require_POST
def delete_file(request: HttpRequest, file_id: int) -> HttpResponse:
    try:
        actions.do_delete_media_file(user=request.user, file_id=file_id)  # type: ignore[arg-type]
        messages.success(request, _("File deleted."))
    except HarborError as error:
        messages.error(request, error.message)
    return HttpResponseRedirect(reverse("media-library"))


@login_required
@require_POST
def set_limit(request: AuthedRequest) -> HttpResponse:
    """A tenant admin sets the current tenant's limit, in MiB; empty means the default."""
    try:
        access = tenant_access_for_request(request, None)
        raw = request.POST.get("max_file_size_mib", "").strip()
        if raw and not raw.isdigit():
            raise InvalidInput(_("Give the limit as a whole number of MiB."))
        size = int(raw) * 1024 * 1024 if raw else None
        actions.do_set_tenant_limit(access=access, max_file_size=size)
        messages.success(request, _("The attachment limit is saved."))
    except HarborError as error:
        messages.error(request, error.message)
    return HttpResponseRedirect(reverse("media-library"))
