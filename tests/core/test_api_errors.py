"""Every answer under /api/ is JSON, an unknown path included, whether DEBUG is on or off."""

import pytest

pytestmark = pytest.mark.django_db

UNKNOWN = ["/api/v1/no-such-thing/", "/api/nope", "/api/v1/trades/999999999/history/"]


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("path", UNKNOWN)
def test_an_unknown_api_path_is_a_json_404(fo_client, settings, debug, path):
    settings.DEBUG = debug
    response = fo_client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_an_unknown_dashboard_path_stays_an_html_page(client, settings):
    settings.DEBUG = True
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_an_api_404_of_a_view_keeps_its_own_json(fo_client, settings):
    settings.DEBUG = True
    response = fo_client.get("/api/v1/trades/999999999/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
