"""People: accounts and roles, signing in, administration, personal data, and the access `Scope`."""
