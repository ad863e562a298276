"""Message attachments: which media library files a message carries."""
