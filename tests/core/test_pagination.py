"""List pagination as API.md says: page_size up to 1000, a malformed one a 400."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("page_size", ["abc", "0", "-5", "1.5", "", "١٢"])
def test_a_page_size_that_is_not_a_positive_integer_is_a_400(fo_client, instruments, page_size):
    response = fo_client.get(f"/api/v1/instruments/?page_size={page_size}")
    assert response.status_code == 400
    assert response.json() == {"page_size": ["A positive integer is required."]}


@pytest.mark.parametrize(("page_size", "rows"), [("1", 1), ("3", 3), ("1000", 4), ("5000", 4)])
def test_a_valid_page_size_is_honoured_up_to_the_cap(fo_client, instruments, page_size, rows):
    body = fo_client.get(f"/api/v1/instruments/?page_size={page_size}").json()
    assert (body["count"], len(body["results"])) == (4, rows)


def test_without_page_size_a_page_holds_a_hundred(fo_client, instruments):
    from backoffice.core.pagination import PageNumberPagination

    assert PageNumberPagination.page_size == 100
    assert len(fo_client.get("/api/v1/instruments/").json()["results"]) == 4
