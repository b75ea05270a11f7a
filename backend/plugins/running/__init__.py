"""The running-coach domain plug-in."""
