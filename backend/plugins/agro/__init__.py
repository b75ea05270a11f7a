"""The agricultural domain plug-in."""
