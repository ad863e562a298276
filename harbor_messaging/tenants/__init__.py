"""Harbor tenants and memberships: who belongs where, and in which role."""
