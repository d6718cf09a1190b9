"""A real broker and a real worker: runs in CI on Redis, skipped on the embedded defaults."""

import os

import pytest

from backoffice.celery import app

REDIS = os.environ.get("CELERY_BROKER_URL", "").startswith("redis://")
pytestmark = pytest.mark.skipif(not REDIS, reason="needs a real broker: set CELERY_BROKER_URL=redis://... "
                                                   "(.ci/run does) to run a worker against it")


@pytest.mark.broker
@pytest.mark.django_db(transaction=True)
def test_a_worker_consumes_a_task_from_redis_and_stores_its_result():
    import celery.contrib.testing.tasks  # noqa: F401  registers celery.ping for the worker's start check
    from celery.contrib.testing.worker import start_worker

    from backoffice.core.tasks import ping

    app.conf.task_always_eager = False
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            result = ping.delay()
            assert result.get(timeout=20) == "pong"
    finally:
        app.conf.task_always_eager = True
    from django_celery_results.models import TaskResult

    assert TaskResult.objects.filter(task_id=result.id, status="SUCCESS").exists()


@pytest.mark.broker
@pytest.mark.django_db
def test_health_check_sees_the_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200, response.content
    assert response.json()["broker"] == "ok"
