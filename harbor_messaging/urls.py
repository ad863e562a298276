"""Pages under the language prefix, the JSON API under /api/, auth and admin without one."""

from __future__ import annotations

from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, register_converter
from django.views.generic import RedirectView
from django.views.i18n import JavaScriptCatalog

from . import login, openapi
from .converters import IdConverter
from .tenants import views as tenant_views
from .tenants.settings_views import tenant_settings

register_converter(IdConverter, "id")
# The admin's login counts failures against the same budgets as the site's.
admin.site.login_form = login.ThrottledAdminAuthenticationForm

urlpatterns = [
    path("", RedirectView.as_view(url="/en/harbor/", permanent=False)),
    path("accounts/login/", login.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    # set_language: the app bar's language switcher posts here.
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/schema/", openapi.schema, name="api-schema"),
    path("api/messaging/links/", include("linkpreview.urls")),
    path("api/", include("messaging.urls")),
    path("api/", include("attachments.urls")),
    path("api/media/", include("harbor_messaging.media.urls")),
    path("healthz", tenant_views.healthz, name="healthz"),
]

urlpatterns += i18n_patterns(
    # The scripts' strings (djangojs), loaded by base.html as a script of its own.
    path("jsi18n/", JavaScriptCatalog.as_view(domain="djangojs"), name="javascript-catalog"),
    path("harbor/", tenant_views.home, name="home"),
    path("harbor/tenant/", tenant_views.switch_tenant, name="switch-tenant"),
    path("harbor/settings/", tenant_settings, name="tenant-settings"),
    path("harbor/", include("messaging.page_urls")),
    path("harbor/", include("harbor_messaging.media.page_urls")),
    prefix_default_language=True,
)
