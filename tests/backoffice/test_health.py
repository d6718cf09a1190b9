"""GET /healthz: 200 when the database and the broker work, 503 naming the one that does not."""

import time

import pytest
from django.db import OperationalError

from backoffice import health

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_folder(settings, tmp_path):
    folder = tmp_path / "broker"
    folder.mkdir()
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(folder), "data_folder_out": str(folder)}
    return folder


def test_healthy_answers_200_without_authentication(client, broker_folder):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}
    assert "no-cache" in response["Cache-Control"]
    # The write probe leaves nothing a worker could mistake for a message.
    assert list(broker_folder.iterdir()) == []


def test_head_is_allowed_and_post_is_not(client, broker_folder):
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


def test_missing_broker_folder_is_503(client, settings, tmp_path):
    missing = tmp_path / "nowhere"
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(missing), "data_folder_out": str(missing)}
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "ok",
                               "broker": f"error: broker folder {missing} does not exist"}


def test_unwritable_broker_folder_is_503(client, broker_folder, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(health.tempfile, "NamedTemporaryFile", refuse)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"] == f"error: broker folder {broker_folder} is not writable (Permission denied)"


def test_database_down_is_503(client, broker_folder, monkeypatch):
    class DeadConnection:
        def cursor(self):
            raise OperationalError("connection to server at 10.0.0.5, port 5432 failed: Connection refused\nmore")

    monkeypatch.setattr(health, "connection", DeadConnection())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "error",
        "database": "error: connection to server at 10.0.0.5, port 5432 failed: Connection refused",
        "broker": "ok",
    }


def test_unreachable_network_broker_is_503_quickly_and_hides_the_password(client, settings):
    settings.CELERY_BROKER_URL = "redis://backoffice:s3cret-pw@127.0.0.1:1/0"
    started = time.monotonic()
    response = client.get("/healthz")
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "ok"
    assert body["broker"].startswith("error: ")
    assert "s3cret-pw" not in response.content.decode()
    assert elapsed < 3.5


def test_broker_that_never_answers_is_given_up_on(client, settings, monkeypatch):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/0"
    monkeypatch.setattr(health, "BROKER_TIMEOUT_SECONDS", 0.2)
    monkeypatch.setattr(health, "_check_network_broker", lambda: time.sleep(3))
    started = time.monotonic()
    response = client.get("/healthz")
    assert time.monotonic() - started < 1.5
    assert response.status_code == 503
    assert response.json()["broker"] == "error: no answer within 0.7 s"


def test_broker_error_messages_never_carry_the_password(client, settings, monkeypatch):
    settings.CELERY_BROKER_URL = "amqp://backoffice:s3cret-pw@mq.internal:5672//"

    def fail():
        raise ConnectionError("cannot reach amqp://backoffice:s3cret-pw@mq.internal:5672//")

    monkeypatch.setattr(health, "_check_network_broker", fail)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"] == "error: cannot reach amqp://backoffice:***@mq.internal:5672//"


def test_working_network_broker_is_ok(client, settings, monkeypatch):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/0"
    monkeypatch.setattr(health, "_check_network_broker", lambda: None)
    assert client.get("/healthz").json() == {"status": "ok", "database": "ok", "broker": "ok"}
