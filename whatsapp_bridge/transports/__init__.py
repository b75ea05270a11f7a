"""The ways the bridge reaches WhatsApp; BRIDGE_TRANSPORT picks one (see base.py)."""
