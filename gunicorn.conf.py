"""gunicorn settings read from the working directory (`gunicorn backoffice.wsgi:application`).

Command-line options override these.
"""

import logging


def post_worker_init(worker):
    """Build the settlement calendars before the first trade request needs them (see calendars_warm)."""
    from django.db import DatabaseError, connection

    from records.reference.services.calendar import calendars_warm

    try:
        worker.log.info("settlement calendars of %d markets built", calendars_warm())
    except DatabaseError:  # not migrated yet, or the database is down: the first request builds them
        logging.getLogger(__name__).warning("settlement calendars not built at start", exc_info=True)
    finally:
        connection.close()
