"""The API of ISO 20022 messages (included by settlements/fails/api.py)."""

urlpatterns: list = []
