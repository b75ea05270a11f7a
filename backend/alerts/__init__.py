"""Alerts: created for one contact or a filtered group, handed to bridges under a lease, retried with backoff."""
