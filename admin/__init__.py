"""flask-admin views mounted by the backend at /admin (issue 3)."""
