"""gunicorn entry point: `gunicorn -c deploy/gunicorn/whatsapp_bridge.py whatsapp_bridge.wsgi:app`.

The config binds BRIDGE_HOST and checks the sockets it bound; this checks BRIDGE_HOST too, for a
gunicorn started without that config (whose --bind it cannot see)."""
from chasqui.network import wsgi_settings
from whatsapp_bridge.app import create_app
from whatsapp_bridge.settings import check_network_safety, load_settings

app = create_app(wsgi_settings(load_settings, check_network_safety))
