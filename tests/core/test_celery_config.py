import pytest

from ktt_market.core.celery import _broker_settings

pytestmark = pytest.mark.core


class _App:
    def __init__(self, config, instance_path="/srv/ktt/instance"):
        self.config = config
        self.instance_path = instance_path


def test_redis_broker_gives_up_quickly_when_redis_hangs():
    settings = _broker_settings(_App({"REDIS_URL": "redis://127.0.0.1:6379/0"}))
    assert settings["broker_url"] == "redis://127.0.0.1:6379/0"
    assert settings["broker_transport_options"]["socket_connect_timeout"] <= 5
    assert settings["broker_connection_timeout"] <= 5


def test_embedded_default_uses_sqlite_files_by_absolute_path():
    settings = _broker_settings(_App({"REDIS_URL": None}))
    assert settings["broker_url"] == "sqlite:////srv/ktt/instance/celery-broker.db"
    # Kombu's database transport, polling faster than its default second (see EmbeddedTransport).
    assert settings["broker_transport"] == "ktt_market.core.celery:EmbeddedTransport"
    assert "broker_transport_options" not in settings  # the SQLAlchemy transport passes them to create_engine
