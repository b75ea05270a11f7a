"""Chasqui's second deployable (issue 3): SQLite store, the /agent orchestrator, forms, alerts."""
