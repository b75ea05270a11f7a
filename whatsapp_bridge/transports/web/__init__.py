"""The `web` transport: a WhatsApp Web multi-device session, like the seed's whatsapp-web.js, on
neonize (a Python wrapper around whatsmeow, a Go library shipped inside the wheel).

convert.py turns neonize's events into the bridge's messages and back, session.py keeps the session
on disk and loads neonize, transport.py runs the client.
"""
from whatsapp_bridge.transports.web.session import WebTransportUnavailable
from whatsapp_bridge.transports.web.transport import WebTransport

__all__ = ["WebTransport", "WebTransportUnavailable"]
