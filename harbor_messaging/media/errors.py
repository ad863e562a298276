"""Why a file is refused: the HarborError of API.md, naming the file."""

from __future__ import annotations

from typing import Any

from harbor_messaging.errors import HarborError


class FileRefused(HarborError):
    """A file that is not kept: 413 too_large, 415 unsupported_type, 422 infected/rejected_file."""

    def __init__(
        self, message: str, *, file_name: str, code: str, status: int, **details: Any
    ) -> None:
        super().__init__(
            message, code=code, status=status, details={"fileName": file_name, **details}
        )
        self.file_name = file_name


def too_large(file_name: str, limit: int) -> FileRefused:
    return FileRefused(
        f"{file_name} is larger than the limit of {limit} bytes.",
        file_name=file_name,
        code="too_large",
        status=413,
        maxSize=limit,
    )


def unsupported_type(file_name: str, content_type: str) -> FileRefused:
    return FileRefused(
        f"{file_name} is of a type that may not be attached ({content_type}).",
        file_name=file_name,
        code="unsupported_type",
        status=415,
        contentType=content_type,
    )


def rejected(file_name: str, reason: str, message: str) -> FileRefused:
    return FileRefused(
        f"{file_name}: {message}",
        file_name=file_name,
        code="rejected_file",
        status=422,
        reason=reason,
    )


def infected(file_name: str, signature: str) -> FileRefused:
    return FileRefused(
        f"{file_name} was refused: the malware scan found {signature}.",
        file_name=file_name,
        code="infected",
        status=422,
        signature=signature,
    )


class ScannerUnavailable(HarborError):
    """clamd is configured but did not answer: nothing is kept unscanned."""

    code = "scanner_unavailable"
    status = 503

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"Retry-After": "30"})
