"""Where messaging events go: one module per publisher, chosen by HARBOR_EVENT_PUBLISHER."""
