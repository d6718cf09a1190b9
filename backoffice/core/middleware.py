import uuid

from django.http import JsonResponse

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


class ApiJsonNotFoundMiddleware:
    """Answer JSON for an unknown path under /api/ with DEBUG on too.

    With DEBUG off, handler404 (backoffice.core.errors.not_found) answers JSON already; with DEBUG
    on (`make run`), Django answers its HTML debug page instead, and a client coding against the
    API would meet a page it cannot parse. Every answer under /api/ is JSON.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (response.status_code == 404 and request.path.startswith("/api/")
                and response.get("Content-Type", "").startswith("text/html")):
            return JsonResponse({"detail": "Not found."}, status=404)
        return response
