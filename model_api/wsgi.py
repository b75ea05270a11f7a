"""gunicorn entry point: `gunicorn -c deploy/gunicorn/model_api.py model_api.wsgi:app`.

The config binds MODEL_API_HOST and checks the sockets it bound; this checks MODEL_API_HOST too,
for a gunicorn started without that config (whose --bind it cannot see: set MODEL_API_TOKEN there)."""
import logging
import sys

from chasqui.env import SettingError
from chasqui.network import ExposedService, refuse_to_start
from model_api.app import create_app
from model_api.model_files import ModelFileError
from model_api.settings import check_network_safety, load_settings


def _checked_app():
    settings = load_settings()
    check_network_safety(settings)
    return create_app(settings, exit_on_load_failure=True)


# Exit code 3 makes gunicorn stop instead of restarting a worker that can never boot.
try:
    app = _checked_app()
except ExposedService as problem:
    refuse_to_start(problem, 3)
except (ModelFileError, SettingError) as problem:
    logging.getLogger("model_api").error("the model API cannot start", extra={"error": str(problem)})
    print(f"chasqui: the model API cannot start: {problem}", file=sys.stderr)
    sys.exit(3)
