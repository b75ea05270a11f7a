import pytest

from model_api.catalog import DEFAULT_MODEL, TEST_MODEL, lookup
from model_api.settings import models_dir
from tests.databases import ENGINE, ON_POSTGRESQL
from tests.servers import start_model_api


def pytest_report_header(config):
    return f"store: {ENGINE} (CHASQUI_TEST_DATABASE)"


def pytest_collection_modifyitems(config, items):
    """Tests of SQLite itself say so; on PostgreSQL they are skipped, not failed."""
    if ON_POSTGRESQL:
        skip = pytest.mark.skip(reason="a test of SQLite itself")
        for item in items:
            if "sqlite_only" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def test_model_path():
    """SmolLM2-135M: real inference, fast enough for most API tests. ./dev test installs it."""
    path = models_dir() / lookup(TEST_MODEL).file_name
    assert path.is_file(), f"{path} missing: run ./dev test (it installs the test models)"
    return path


@pytest.fixture(scope="session")
def default_model_path():
    path = models_dir() / lookup(DEFAULT_MODEL).file_name
    assert path.is_file(), f"{path} missing: run ./dev test (it installs the default model)"
    return path


@pytest.fixture(scope="module")
def small_api(tmp_path_factory, test_model_path):
    """A real model API process serving SmolLM2 on a loopback port."""
    service = start_model_api(tmp_path_factory.mktemp("small-api"), TEST_MODEL)
    yield service
    service.stop()


@pytest.fixture(scope="module")
def default_api(tmp_path_factory, default_model_path):
    """A real model API process serving the embedded default model (Qwen2.5-Coder-0.5B)."""
    service = start_model_api(tmp_path_factory.mktemp("default-api"), DEFAULT_MODEL)
    yield service
    service.stop()
