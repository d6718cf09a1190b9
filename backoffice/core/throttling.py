from rest_framework.throttling import SimpleRateThrottle


class TokenRateThrottle(SimpleRateThrottle):
    """Limit requests per API token (or per user for session logins); rate from settings "token".

    Counts live in the default cache: set CACHE_URL to Redis in production so every gunicorn
    worker shares them.
    """

    scope = "token"

    def get_cache_key(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
        token = getattr(request, "auth", None)
        ident = f"t:{token.key}" if token is not None and hasattr(token, "key") else f"u:{request.user.pk}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
