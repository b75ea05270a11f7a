"""The bad-input suite's hypothesis profiles and services.

Profiles: "ci" (the default: a few dozen examples per test, the folder in about a minute on two
cores) and "bench" (hundreds per test: `bench/bad_input.py`, or
`pytest tests/robustness --hypothesis-profile=bench`). Both are derandomized with no example
database, so a run generates the same requests every time and CI is stable; each test reads its
number of examples from the active profile (strategies.examples).

The services are module-scoped: built once per test module (a backend takes about a second), and
kept across examples on purpose, since an accepted input that poisons a contact or a job must be
caught by the examples after it, as it would be in production."""
from __future__ import annotations

import pytest
from hypothesis import settings

from tests.agro.conftest import lima_today
from tests.agro.fake_open_meteo import FakeOpenMeteo
from tests.backend.scripted_model import ScriptedModel
from tests.robustness.strategies import BENCH, CI, SUPPRESS
from tests.robustness.worlds import BackendWorld, short_long_polls

settings.register_profile(CI, max_examples=40, derandomize=True, database=None, deadline=None,
                          suppress_health_check=SUPPRESS)
settings.register_profile(BENCH, parent=settings.get_profile(CI), max_examples=400)


@pytest.fixture(scope="module")
def module_patch():
    with pytest.MonkeyPatch.context() as patch:
        # Warnings and errors only: thousands of INFO request lines would bury a failure's story.
        patch.setenv("CHASQUI_LOG_LEVEL", "WARNING")
        yield patch


@pytest.fixture(scope="module")
def weather(module_patch):
    """Open-Meteo on loopback, serving recorded weather moved to this week (the agro advice)."""
    fake = FakeOpenMeteo()
    fake.align_to = lima_today()
    module_patch.setenv("AGRO_OPEN_METEO_URL", fake.url)
    module_patch.setenv("AGRO_GEOCODING_URL", fake.url)
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def scripted_model():
    model = ScriptedModel().answer_by_default("Claro, te cuento lo que sé de eso.")
    yield model
    model.stop()


@pytest.fixture(scope="module")
def long_polls(module_patch) -> list[float]:
    return short_long_polls(module_patch)


@pytest.fixture(scope="module")
def backend_world(tmp_path_factory, module_patch, weather, scripted_model, long_polls) -> BackendWorld:
    return BackendWorld(tmp_path_factory.mktemp("backend"), scripted_model.url)
