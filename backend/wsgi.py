"""gunicorn entry point: `gunicorn -c deploy/gunicorn/backend.py backend.wsgi:app`.

The config binds BACKEND_HOST and checks the sockets it bound; this checks BACKEND_HOST too, for a
gunicorn started without that config (whose --bind it cannot see: set BACKEND_TOKEN there)."""
from backend.app import create_app
from backend.settings import check_network_safety, load_settings
from chasqui.network import wsgi_settings

app = create_app(wsgi_settings(load_settings, check_network_safety))
