"""API rate limits per token: a sliding-window counter, two cache keys and O(1) work per request.

DRF's SimpleRateThrottle keeps the timestamp of every request of the window in one cache value,
read, rewritten and pickled whole on each request: at the default 100,000/min, a busy token's
list holds tens of thousands of floats and the throttle costs more than the trade it guards.
Here each token has a counter per fixed window; the rate is estimated over the last `duration`
seconds as the current window's count plus the previous window's, weighted by how much of it
still overlaps (the approximation Cloudflare and nginx-style limiters use). It never admits
more than twice the rate in any `duration` seconds, and admits a steady flow below the rate.
"""

from rest_framework.throttling import SimpleRateThrottle


class TokenRateThrottle(SimpleRateThrottle):
    """Limit requests per API token (or per user for session logins); rate from settings "token".

    Counts live in the default cache: set CACHE_URL to Redis in production so every gunicorn
    worker shares them (Redis increments atomically; the local-memory default counts per process).
    """

    scope = "token"

    def get_cache_key(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
        token = getattr(request, "auth", None)
        ident = f"t:{token.key}" if token is not None and hasattr(token, "key") else f"u:{request.user.pk}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        now = self.timer()
        window = int(now // self.duration)
        current_key, previous_key = f"{self.key}:{window}", f"{self.key}:{window - 1}"
        counts = self.cache.get_many([current_key, previous_key])
        current, previous = counts.get(current_key, 0), counts.get(previous_key, 0)
        into_window = now - window * self.duration
        if previous * (1 - into_window / self.duration) + current >= self.num_requests:
            self._wait = self._time_until_allowed(current, previous, into_window)
            return False
        self._count(current_key)
        return True

    def _count(self, key: str) -> None:
        # Kept for two windows: the next window weighs this one.
        if not self.cache.add(key, 1, timeout=2 * self.duration):
            try:
                self.cache.incr(key)
            except ValueError:  # expired between add and incr
                self.cache.set(key, 1, timeout=2 * self.duration)

    def _time_until_allowed(self, current: int, previous: int, into_window: float) -> float | None:
        d, n = self.duration, self.num_requests
        if n == 0:
            return None  # nothing is ever allowed
        if current >= n:
            # Not in this window: in the next, this window's count fades until below the rate.
            return (d - into_window) + d * (1 - n / current)
        # Later in this window, as the previous window's weight fades.
        return max(d * (1 - (n - current) / previous) - into_window, 0.001)

    def wait(self):
        return getattr(self, "_wait", None)
