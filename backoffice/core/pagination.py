from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """`?page=` and `?page_size=` (max 1000), as API.md says."""

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000
