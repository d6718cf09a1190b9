"""The pages a user sees when a page does not exist or the server fails: the platform's, never Django's
debug page (which lists every URL pattern)."""

import lxml.html
import pytest
from django.test import Client, override_settings
from django.urls import path

from backoffice.urls import urlpatterns as project_urlpatterns
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def _fail(request):
    raise RuntimeError("boom")


urlpatterns = [path("boom/", _fail), *project_urlpatterns]
handler404 = "backoffice.core.errors.not_found"
handler500 = "backoffice.core.errors.server_error"


@override_settings(DEBUG=False)
def test_a_missing_page_is_the_platforms_404_in_the_shell_without_url_patterns(client):
    client.force_login(make_user("ops", "operations"))
    response = client.get("/records/no-such-page/")
    assert response.status_code == 404
    doc = lxml.html.fromstring(response.content.decode())
    assert doc.xpath("string(//h1)").strip() == "Page not found"
    assert "/records/no-such-page/" in doc.xpath('string(//*[@id="error-page"])')
    assert doc.xpath('//nav') and doc.xpath('//a[@href="/"]')
    assert "URLconf" not in response.content.decode() and "urlpatterns" not in response.content.decode()


@override_settings(DEBUG=False, ROOT_URLCONF=__name__)
def test_a_server_error_is_the_platforms_500_page():
    client = Client(raise_request_exception=False)
    response = client.get("/boom/")
    assert response.status_code == 500
    doc = lxml.html.fromstring(response.content.decode())
    assert doc.xpath("string(//h1)").strip() == "Something went wrong"
    assert "boom" not in response.content.decode() and "Traceback" not in response.content.decode()
    assert doc.xpath('//link[@rel="stylesheet"]/@href')
