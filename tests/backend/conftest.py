import pytest

from backend.app import create_app
from backend.settings import load_settings
from tests.backend.scripted_model import ScriptedModel
from tests.databases import database_url_for

TOKEN = "bridge-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def model():
    scripted = ScriptedModel()
    yield scripted
    scripted.stop()


def backend_settings(tmp_path, model_url: str, **overrides):
    return load_settings().with_overrides(**{
        "db_path": tmp_path / "chasqui.db", "database_url": database_url_for(tmp_path / "chasqui.db"), "token": TOKEN, "model_api_url": model_url, "model_api_token": "",
        "secondary_model_api_url": "", "model_timeout_s": 5.0, "model_retries": 2, "breaker_failures": 3,
        "breaker_cooldown_s": 60.0, "daily_model_calls": 50, "daily_secondary_model_calls": 0, "plugins": ("example",),
        "warm_up": False, **overrides})


class Backend:
    def __init__(self, app):
        self.app = app
        self.client = app.test_client()
        self.db = app.extensions["chasqui_store"].db

    def agent(self, phone: str, message: str, **extra):
        return self.client.post("/agent", json={"phone": phone, "message": message, **extra}, headers=AUTH)

    def say(self, phone: str, message: str, **extra) -> dict:
        response = self.agent(phone, message, **extra)
        assert response.status_code == 200, response.json
        return response.json

    def onboard(self, phone: str, name: str = "Rosa", city: str = "Cajamarca") -> None:
        self.say(phone, "hola")
        self.say(phone, name)
        assert "Listo" in self.say(phone, city)["model_output"]["respuesta_chat"]

    def replies(self, phone: str, texts: list[str]) -> list[str]:
        """The reply texts to these messages, sent one after the other (an onboarding, say)."""
        return [self.say(phone, text)["model_output"]["respuesta_chat"] for text in texts]

    def count(self, table: str) -> int:
        return self.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def plugin_backend(tmp_path, model_url: str, plugin: str) -> Backend:
    """The backend with one domain plug-in whose jobs the tests run themselves, at chosen times."""
    app = create_app(backend_settings(tmp_path, model_url, plugins=(plugin,)))
    app.extensions["chasqui_scheduler"].stop()
    return Backend(app)


@pytest.fixture
def make_backend(tmp_path, model):
    made = []

    def make(**overrides) -> Backend:
        made.append(Backend(create_app(backend_settings(tmp_path, model.url, **overrides))))
        return made[-1]
    yield make
    for backend in made:  # no scheduler left ticking against a database the session is about to drop
        backend.app.extensions["chasqui_scheduler"].stop()


@pytest.fixture
def backend(make_backend):
    return make_backend()
