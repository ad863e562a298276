from __future__ import annotations

from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "harbor_messaging.tenants"
    label = "tenants"
    verbose_name = "Harbor tenants"
