import uuid

from .context import correlation, serving


class RequestContextMiddleware:
    """Give every request an id (or take the caller's X-Request-ID) for the audit trail."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get("X-Request-ID", "")
        request_id = given[:64] if given and given.isprintable() else uuid.uuid4().hex
        with correlation(f"req:{request_id}"), serving(request):
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response
