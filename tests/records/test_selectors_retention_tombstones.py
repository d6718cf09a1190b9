"""The retention page's tombstones on a big trail: read from their partial index by any plan, prepared or not."""

import pytest
from django.db import connection

from records.audit.models import AuditRecord
from records.retention import selectors

pytestmark = pytest.mark.django_db


def test_the_tombstone_query_names_its_action_literally_so_a_generic_plan_can_use_the_partial_index():
    """A prepared statement's generic plan cannot prove a parameter equal to the partial index's 'PURGE': with the
    action a parameter PostgreSQL walked the whole trail backwards after a few executions. The query carries no
    parameter, and the index serves it with sequential scans off even when plans are forced generic."""
    sql, params = AuditRecord.objects.filter(selectors._IS_TOMBSTONE).order_by("-id")[:20].query.sql_with_params()
    assert params == ()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "audit_purge_idx" in plan
    assert selectors.purge_tombstones() == []
