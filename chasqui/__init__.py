"""Shared helpers for every Chasqui service: settings from the environment, JSON logs,
bearer-token checks, and the `chasqui` command. No service logic lives here."""
