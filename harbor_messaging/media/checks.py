"""System checks: a misconfigured scanner or clamd address fails loudly at start-up."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from .scanners.base import MalwareScanner
from .scanners.clamd import parse_address


@register()
def check_scanner(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    path = settings.HARBOR_MALWARE_SCANNER
    try:
        cls = import_string(path)
    except ImportError as exc:
        return [
            Error(f"HARBOR_MALWARE_SCANNER {path!r} cannot be imported: {exc}", id="media.E001")
        ]
    if not (isinstance(cls, type) and issubclass(cls, MalwareScanner)):
        return [Error(f"HARBOR_MALWARE_SCANNER {path!r} is not a MalwareScanner", id="media.E002")]
    if settings.CLAMD_ADDRESS:
        try:
            parse_address(settings.CLAMD_ADDRESS)
        except ImproperlyConfigured as exc:
            return [Error(str(exc), id="media.E003")]
    return []


@register()
def check_libmagic(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    try:
        import magic

        magic.Magic(mime=True)
    except Exception as exc:  # ImportError, or libmagic1 missing
        return [
            Error(
                f"python-magic cannot load libmagic ({exc}); install Debian's libmagic1",
                id="media.E004",
            )
        ]
    return []
