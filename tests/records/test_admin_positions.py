"""The position admin shows the stock record's pending receipts and deliveries."""

import pytest

pytestmark = pytest.mark.django_db


def test_position_admin_shows_pending_receipt_and_delivery(admin_signed_in, blotter):
    content = admin_signed_in.get("/admin/records/position/").content.decode()
    assert "Pending receipt" in content and "Pending delivery" in content
