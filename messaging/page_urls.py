"""Messaging pages, under the language prefix (/en/harbor/messaging/)."""

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("messaging/", views.messaging_page, name="messaging"),
]
