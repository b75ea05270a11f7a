"""flask-admin views mounted by the backend at /admin (issue 3): `admin.panel.init_admin(app, store)`.
Accounts live in admin_users (`admin.users`); every page needs a session login."""
