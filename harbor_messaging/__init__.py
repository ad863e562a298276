"""Harbor Messaging: the project package and the Harbor platform pieces it stands on."""
