"""The Content-Security-Policy on every response: scripts, styles and connections only from
this site, no inline script, no framing. Django's SecurityMiddleware and
XFrameOptionsMiddleware add the rest (HSTS, nosniff, Referrer-Policy, X-Frame-Options)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.deprecation import MiddlewareMixin

HEADER = "Content-Security-Policy"


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme in {"http", "https"} and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return None


@cache
def content_security_policy() -> str:
    # Downloads and thumbnails may be redirects to signed URLs on the S3 endpoint (R2).
    media = [o for o in map(_origin, settings.HARBOR_CSP_MEDIA_ORIGINS) if o]
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:", *media],
        "media-src": ["'self'", *media],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


class ContentSecurityPolicyMiddleware(MiddlewareMixin):
    """Adds the policy unless a view set its own. A MiddlewareMixin, so async views stay async."""

    get_response: Callable[[HttpRequest], HttpResponse]

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if HEADER not in response:
            response[HEADER] = content_security_policy()
        return response
