from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.forms import BaseInlineFormSet
from django.http import HttpRequest

from .actions import do_remove_member
from .models import Membership, Tenant, TenantSettings


class MembershipInline(admin.TabularInline[Membership, Tenant]):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin[Tenant]):
    list_display = ["slug", "name", "created_at"]
    search_fields = ["slug", "name"]
    inlines = [MembershipInline]

    def save_formset(
        self,
        request: HttpRequest,
        form: Any,
        formset: BaseInlineFormSet[Any, Any, Any],
        change: bool,
    ) -> None:
        if formset.model is not Membership:
            super().save_formset(request, form, formset, change)
            return
        instances = formset.save(commit=False)
        for removed in formset.deleted_objects:
            do_remove_member(membership=removed)
        for instance in instances:
            instance.save()
        formset.save_m2m()


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin[Membership]):
    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["role", "tenant"]
    search_fields = ["user__username", "user__email", "tenant__slug"]
    autocomplete_fields = ["user", "tenant"]

    def delete_model(self, request: HttpRequest, obj: Membership) -> None:
        do_remove_member(membership=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        for membership in queryset.select_related("tenant"):
            do_remove_member(membership=membership)


@admin.register(TenantSettings)
class TenantSettingsAdmin(admin.ModelAdmin[TenantSettings]):
    """Per-tenant switches (link previews); global admins set any tenant's here."""

    list_display = ["tenant", "link_previews_enabled"]
    list_filter = ["link_previews_enabled"]
    autocomplete_fields = ["tenant"]
