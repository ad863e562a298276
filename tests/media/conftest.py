"""The media tests share the attachment tests' fixtures (storage folder, nothing_kept)."""

from tests.attachments.conftest import nothing_kept, storage_dir

__all__ = ["nothing_kept", "storage_dir"]
