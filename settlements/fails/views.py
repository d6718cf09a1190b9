"""Dashboard pages of settlements' fails (included by settlements/urls.py)."""

from settlements.iso20022.views import urlpatterns as iso20022_pages

urlpatterns: list = [
    # ISO 20022 (settlements/iso20022/views.py): wired here so that settlements/urls.py needs no change.
    *iso20022_pages,
]
