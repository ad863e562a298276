"""The Harbor media library: each member's files in a tenant, on the configured storage."""
