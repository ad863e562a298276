"""The one application error family; the API turns each into the error JSON of API.md."""

from __future__ import annotations

from typing import Any


class HarborError(Exception):
    """An error a client caused or may see: a code, a human message and an HTTP status."""

    code = "invalid"
    status = 400

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.details = details or {}
        self.headers = headers or {}

    def as_json(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return {"error": error}


class InvalidInput(HarborError):
    code = "invalid"
    status = 400

    def __init__(self, message: str, *, field: str | None = None, **kwargs: Any) -> None:
        details = kwargs.pop("details", None) or {}
        if field is not None:
            details.setdefault("field", field)
        super().__init__(message, details=details, **kwargs)


class NotAuthenticated(HarborError):
    code = "not_authenticated"
    status = 401


class Forbidden(HarborError):
    code = "forbidden"
    status = 403


class NotFound(HarborError):
    code = "not_found"
    status = 404


class MethodNotAllowed(HarborError):
    code = "method_not_allowed"
    status = 405


class TooLarge(HarborError):
    code = "too_large"
    status = 413


class RateLimited(HarborError):
    code = "rate_limited"
    status = 429

    def __init__(self, message: str, *, retry_after: int, **kwargs: Any) -> None:
        super().__init__(message, headers={"Retry-After": str(max(1, retry_after))}, **kwargs)
        self.retry_after = retry_after
