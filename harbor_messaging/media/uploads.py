"""The upload handler: each file streams to a temporary file on disk, counted and hashed
as it arrives, and is cut off at the first byte past the size limit."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.files.uploadedfile import TemporaryUploadedFile, UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest, HttpResponse

from .errors import FileRefused, too_large

CHUNK = 256 * 1024


class HashedUpload(TemporaryUploadedFile):
    """An upload on disk with the SHA-256 of its bytes."""

    sha256: str = ""


class LimitedUploadHandler(FileUploadHandler):
    """Writes every file to disk (never memory), refusing one that passes ``limit()``.

    ``limit`` is called once per file, when the file starts, so it can depend on what is
    known by then. Every file it made is in ``files``; ``close_all()`` deletes what is left.
    """

    chunk_size = CHUNK

    def __init__(self, request: HttpRequest, *, limit: Callable[[], int]) -> None:
        super().__init__(request)
        self.limit = limit
        self.files: list[HashedUpload] = []
        self.refusal: FileRefused | None = None
        self._max = 0
        self._hash: Any = None
        self._file: HashedUpload | None = None

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self._max = self.limit()
        self._hash = hashlib.sha256()
        self._file = HashedUpload(self.file_name or "", self.content_type or "", 0, self.charset)
        self.files.append(self._file)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        assert self._file is not None
        if start + len(raw_data) > self._max:
            # Cut off here: nothing past the limit is written, the rest is only drained.
            self.refusal = too_large(str(self.file_name or "file"), self._max)
            self._file.close()
            raise StopUpload(connection_reset=False)
        self._file.write(raw_data)
        self._hash.update(raw_data)
        return None

    def file_complete(self, file_size: int) -> HashedUpload | None:
        assert self._file is not None
        self._file.seek(0)
        self._file.size = file_size
        self._file.sha256 = self._hash.hexdigest()
        return self._file

    def close_all(self) -> None:
        for upload in self.files:
            # A file already moved into storage is gone; close() then has nothing to remove.
            upload.close()


def hashed_copy(uploaded: UploadedFile[bytes], *, limit: int) -> HashedUpload:
    """A file Django's own handlers received (an admin form's), copied to disk and hashed
    as the upload handler would, so it goes through the same checks; cut off past ``limit``.
    The caller closes it."""
    name = str(uploaded.name or "file")
    copy = HashedUpload(name, uploaded.content_type or "", 0, uploaded.charset)
    digest = hashlib.sha256()
    size = 0
    try:
        for chunk in uploaded.chunks(CHUNK):
            size += len(chunk)
            if size > limit:
                raise too_large(name, limit)
            copy.write(chunk)
            digest.update(chunk)
        copy.flush()
    except BaseException:
        copy.close()
        raise
    copy.seek(0)
    copy.size = size
    copy.sha256 = digest.hexdigest()
    return copy


def _limit_while_streaming(request: HttpRequest) -> int:
    """The limit a file is cut off at while it arrives: the named tenant's (``?tenantId=``),
    else the largest among the user's tenants; the tenant's own is checked again once the
    form is read."""
    from harbor_messaging.errors import HarborError
    from harbor_messaging.tenants.selectors import tenant_access

    from .selectors import largest_limit_for, max_file_size_for

    user = request.user
    if not user.is_authenticated:
        return 0
    slug = request.GET.get("tenantId")
    if slug:
        try:
            return max_file_size_for(tenant_access(user, slug).tenant)
        except HarborError:
            pass
    return largest_limit_for(user)


ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponse])


def streaming_uploads(view: ViewFunc) -> ViewFunc:
    """Make the request's files stream through a LimitedUploadHandler.

    Django's CSRF check reads the form, and with it the files, so the handler must be in
    place before it: this wrapper is outermost and exempt, and ``view`` must check CSRF
    itself (``api_view`` does; a page view wraps itself in ``csrf_protect``). Every
    temporary file is removed when the view returns.
    """

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        handler = LimitedUploadHandler(request, limit=lambda: _limit_while_streaming(request))
        request.upload_handlers = [handler]
        try:
            return view(request, *args, **kwargs)
        finally:
            handler.close_all()

    wrapper.csrf_exempt = True  # type: ignore[attr-defined]  # the view checks CSRF itself
    return wrapper  # type: ignore[return-value]


def received_files(request: HttpRequest, field: str = "files") -> list[HashedUpload]:
    """The files of the form, or the refusal that cut the upload off."""
    files = request.FILES.getlist(field)
    for handler in request.upload_handlers:
        refusal = getattr(handler, "refusal", None)
        if refusal is not None:
            raise refusal
    return [f for f in files if isinstance(f, HashedUpload)]
