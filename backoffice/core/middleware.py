import uuid
from http import HTTPStatus

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
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


class ApiJsonErrorsMiddleware:
    """Answer JSON for every error under /api/, with DEBUG on too.

    With DEBUG off, handler404 (backoffice.core.errors.not_found) answers JSON for an unknown path;
    with DEBUG on (`make run`), Django answers its HTML debug page instead, and a client coding
    against the API would meet a page it cannot parse. Views that render their own formats (the
    OpenAPI schema's YAML) answer their errors in it too. Every answer under /api/ is JSON: an error
    in another content type becomes `{"detail": ...}`, its status and headers (Allow, Retry-After,
    WWW-Authenticate) kept.
    """

    KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate", "X-Request-ID")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (response.status_code >= 400 and request.path.startswith("/api/")
                and not response.get("Content-Type", "").startswith("application/json")):
            return self._as_json(request, response)
        return response

    def _as_json(self, request, response):
        status = response.status_code
        if status == 404:
            detail = "Not found."
        elif status == 405:
            detail = f'Method "{request.method}" not allowed.'
        else:
            try:
                detail = HTTPStatus(status).phrase + "."
            except ValueError:
                detail = "Error."
        replacement = JsonResponse({"detail": detail}, status=status)
        for header in self.KEPT_HEADERS:
            if header in response:
                replacement[header] = response[header]
        return replacement

def _body_too_large():
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return JsonResponse(
        {"detail": f"Request body too large: the limit is {limit} bytes ({limit // (1024 * 1024)} MB)."},
        status=413,
    )


class ApiBodyLimitMiddleware:
    """Answer a JSON 413 for a body under /api/ larger than DATA_UPLOAD_MAX_MEMORY_SIZE.

    Django itself raises RequestDataTooBig only when the body is read, and answers it with its 400
    page (HTML with DEBUG on). Under /api/ a body over the limit is refused before the view runs,
    by its Content-Length; multipart file parts are exempt, as Django exempts them from the limit.
    A RequestDataTooBig raised by a view (a multipart form's other fields, say) answers the same 413.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/") and self._over_limit(request):
            return _body_too_large()
        return self.get_response(request)

    @staticmethod
    def _over_limit(request):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is None or request.content_type == "multipart/form-data":
            return False
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return False
        return length > limit

    def process_exception(self, request, exception):
        if request.path.startswith("/api/") and isinstance(exception, RequestDataTooBig):
            return _body_too_large()
        return None
