"""Domain plug-ins: everything domain-specific the backend core may use, behind one interface."""
