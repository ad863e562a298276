"""The JSON API's edge: the view decorator, request parsing and the error JSON of API.md."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.contrib.auth.models import User
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.deprecation import MiddlewareMixin
from django.views.decorators.csrf import csrf_protect

from .errors import (
    HarborError,
    InvalidInput,
    MethodNotAllowed,
    NotAuthenticated,
    TooLarge,
)

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"

ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponse])


class AuthedRequest(HttpRequest):
    """A request that api_view has let through only with a logged-in user."""

    user: User


def error_response(error: HarborError) -> JsonResponse:
    response = JsonResponse(error.as_json(), status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    if isinstance(error, MethodNotAllowed) and "allow" in error.details:
        response["Allow"] = ", ".join(error.details["allow"])
    response["Cache-Control"] = "no-store"
    return response


def json_response(data: Any, status: int = 200) -> JsonResponse:
    response = JsonResponse(
        data, status=status, safe=False, json_dumps_params={"ensure_ascii": False}
    )
    response["Cache-Control"] = "no-store"
    return response


def api_view(
    methods: Iterable[str], *, login_required: bool = True
) -> Callable[[ViewFunc], ViewFunc]:
    """Wrap a JSON endpoint: method check, CSRF for unsafe methods, login, errors as JSON."""
    allowed_set = {m.upper() for m in methods}
    if "GET" in allowed_set:
        allowed_set.add("HEAD")  # As Django's own views answer HEAD wherever GET works.
    allowed = sorted(allowed_set)

    def decorator(view: ViewFunc) -> ViewFunc:
        protected = csrf_protect(view)

        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                if request.method not in allowed:
                    raise MethodNotAllowed(
                        f"{request.method} is not allowed here.", details={"allow": allowed}
                    )
                if login_required and not request.user.is_authenticated:
                    raise NotAuthenticated("Log in to use this endpoint.")
                return protected(request, *args, **kwargs)
            except HarborError as error:
                return error_response(error)

        wrapper.csrf_exempt = True  # type: ignore[attr-defined]  # csrf_protect above decides
        return wrapper  # type: ignore[return-value]

    return decorator


def parse_json_body(request: HttpRequest) -> dict[str, Any]:
    """The request's JSON object, or a 400/413/415 HarborError."""
    content_type = request.content_type or ""
    if content_type not in {"application/json", ""}:
        raise HarborError("Send the body as application/json.", code="unsupported_type", status=415)
    try:
        raw = request.body
    except RequestDataTooBig as exc:
        raise TooLarge("The request body is too large.") from exc
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("The body is not valid JSON.", details={"reason": str(exc)}) from exc
    except RecursionError as exc:
        # A megabyte of "[" nests deeper than the parser goes; that is bad input, not a crash.
        raise InvalidInput("The body is nested too deeply.") from exc
    if not isinstance(data, dict):
        raise InvalidInput("The body must be a JSON object.")
    return data


# Django's own error pages (its 404, the 400 of a SuspiciousOperation raised in a middleware)
# as the error JSON of API.md.
_PLAIN_ERRORS: dict[int, tuple[str, str]] = {
    400: ("invalid", "The request is not valid."),
    403: ("forbidden", "You may not do this."),
    404: ("not_found", "No such endpoint or object."),
    405: ("method_not_allowed", "This method is not allowed here."),
    413: ("too_large", "The request body is too large."),
    500: ("server_error", "Something went wrong on our side."),
}


class ApiErrorMiddleware(MiddlewareMixin):
    """Under /api/, answer errors as the error JSON rather than HTML pages.

    A MiddlewareMixin so it serves async views (the event stream) without a thread hop.
    """

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if (
            request.path.startswith(API_PREFIX)
            and response.status_code in _PLAIN_ERRORS
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            code, message = _PLAIN_ERRORS[response.status_code]
            return error_response(HarborError(message, code=code, status=response.status_code))
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not request.path.startswith(API_PREFIX):
            return None
        if isinstance(exception, HarborError):
            return error_response(exception)
        if isinstance(exception, RequestDataTooBig):
            return error_response(TooLarge("The request body is too large."))
        if isinstance(exception, SuspiciousOperation | MultiPartParserError):
            # Too many query or form fields, a malformed multipart body (a multipart
            # Content-Type without a boundary, found by schemathesis) and the like: the
            # client's doing, answered 400, never 500.
            return error_response(InvalidInput("The request is malformed."))
        logger.exception("Unexpected error in %s %s", request.method, request.path)
        return error_response(
            HarborError("Something went wrong on our side.", code="server_error", status=500)
        )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF refusals: the error JSON under /api/, Django's page elsewhere."""
    if request.path.startswith(API_PREFIX):
        return error_response(
            HarborError(
                "The CSRF token is missing or wrong: send it in the X-CSRFToken header.",
                code="forbidden",
                status=403,
                details={"reason": reason},
            )
        )
    from django.views.csrf import csrf_failure as django_csrf_failure

    return django_csrf_failure(request, reason=reason)
