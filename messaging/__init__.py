"""Harbor messages: send, read, edit and delete, per tenant, with per-recipient state."""
