"""Chasqui's third deployable (issue 4): relays WhatsApp <-> backend and delivers alerts."""
