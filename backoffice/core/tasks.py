from celery import shared_task


@shared_task(name="backoffice.ping", acks_late=True)
def ping() -> str:
    """Answer "pong": proves a worker consumes from the broker and stores results."""
    return "pong"
