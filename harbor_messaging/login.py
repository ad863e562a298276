"""Login throttled against guessing: failed attempts are counted per username and per IP,
and once either budget is spent the form refuses (429) before it checks any password."""

from __future__ import annotations

import math
from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpResponse
from django.utils.translation import ngettext

from . import ratelimit

ACTION = "login"


class ThrottledLoginMixin:
    """For an AuthenticationForm: refuse while throttled, count each failure."""

    request: Any
    data: Any
    retry_after: int | None = None

    def _idents(self) -> dict[str, str]:
        username = str(self.data.get("username", "")).strip().lower()[:150]
        idents = {"ip": ratelimit.client_ip(self.request)} if self.request is not None else {}
        if username:
            idents["username"] = username
        return idents

    def clean(self) -> dict[str, Any]:
        idents = self._idents()
        wait = ratelimit.blocked_for(ACTION, idents)
        if wait is not None:
            self.retry_after = wait
            minutes = max(1, math.ceil(wait / 60))
            raise forms.ValidationError(
                ngettext(
                    "Too many failed log-in attempts. Wait %(minutes)d minute and try again.",
                    "Too many failed log-in attempts. Wait %(minutes)d minutes and try again.",
                    minutes,
                )
                % {"minutes": minutes},
                code="throttled",
            )
        try:
            return super().clean()  # type: ignore[misc, no-any-return]
        except forms.ValidationError:
            ratelimit.record(ACTION, idents)
            raise


class ThrottledAuthenticationForm(ThrottledLoginMixin, AuthenticationForm):
    pass


class ThrottledAdminAuthenticationForm(ThrottledLoginMixin, AdminAuthenticationForm):
    pass


class LoginView(auth_views.LoginView):
    form_class = ThrottledAuthenticationForm
    redirect_authenticated_user = True

    def form_invalid(self, form: Any) -> HttpResponse:
        response = super().form_invalid(form)
        retry = getattr(form, "retry_after", None)
        if retry is not None:
            response.status_code = 429
            response["Retry-After"] = str(max(1, retry))
        return response
