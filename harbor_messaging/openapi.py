"""GET /api/schema/: the OpenAPI document of the JSON API (docs/openapi.yaml), as YAML, or
as JSON for ``?format=json``."""

from __future__ import annotations

from functools import cache
from typing import Any

import yaml
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from .api import api_view, json_response

DOCUMENT = settings.BASE_DIR / "docs" / "openapi.yaml"


@cache
def _text() -> str:
    return DOCUMENT.read_text(encoding="utf-8")


@cache
def openapi_document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(_text())
    return loaded


@api_view(["GET"], login_required=False)
def schema(request: HttpRequest) -> HttpResponse:
    if request.GET.get("format") == "json":
        return json_response(openapi_document())
    response = HttpResponse(_text(), content_type="application/yaml; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    return response
