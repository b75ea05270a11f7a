"""Without ADMIN_SECRET_KEY every process of the backend must still sign sessions with one key."""
import stat

from admin.panel import admin_secret_key


def test_generated_key_is_kept_owner_only_and_shared(tmp_path, monkeypatch):
    monkeypatch.delenv("ADMIN_SECRET_KEY", raising=False)
    key_file = tmp_path / "admin_secret_key"
    first = admin_secret_key(key_file)
    assert len(first) >= 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert admin_secret_key(key_file) == first  # a second worker, or a restart
    assert [p.name for p in tmp_path.iterdir()] == ["admin_secret_key"]  # no scratch file left


def test_environment_key_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("ADMIN_SECRET_KEY", "from-the-environment")
    assert admin_secret_key(tmp_path / "admin_secret_key") == "from-the-environment"
    assert not (tmp_path / "admin_secret_key").exists()
