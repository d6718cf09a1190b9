from rest_framework import pagination
from rest_framework.exceptions import ValidationError

from .api import query_param


class PageNumberPagination(pagination.PageNumberPagination):
    """`?page=` and `?page_size=` (max 1000): a page or page_size that is not a positive integer is a 400.

    DRF's own class falls back to the default size without a word, so a client asking for
    `page_size=all` would silently get 100 rows and believe it had them all.
    """

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000

    def get_page_number(self, request, paginator):
        raw = query_param(request, self.page_query_param)
        if raw is None:
            return 1
        if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
            raise ValidationError({self.page_query_param: ["A positive integer is required."]})
        return raw

    def get_page_size(self, request):
        raw = query_param(request, self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
            raise ValidationError({self.page_size_query_param: ["A positive integer is required."]})
        return min(int(raw), self.max_page_size)
