"""The per-token rate limit: a sliding-window counter, constant work per request, sound bounds."""

import pytest
from django.core.cache import cache
from hypothesis import given, settings
from hypothesis import strategies as st

from backoffice.core.throttling import TokenRateThrottle


class _Clock:
    def __init__(self, now=0.0):
        self.now = now

    def __call__(self):
        return self.now


class _Request:
    def __init__(self, key="k" * 40):
        self.auth = type("Token", (), {"key": key})()
        self.user = type("User", (), {"is_authenticated": True, "pk": 1})()


def _throttle(rate: str, clock: _Clock) -> TokenRateThrottle:
    throttle = TokenRateThrottle()
    throttle.rate = rate
    throttle.num_requests, throttle.duration = throttle.parse_rate(rate)
    throttle.timer = clock
    return throttle


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


def test_the_rate_is_allowed_then_refused_with_an_honest_wait():
    clock = _Clock(60 * 16_000 + 20.0)  # 20 s into a minute window
    throttle = _throttle("3/min", clock)
    assert [throttle.allow_request(_Request(), None) for _ in range(4)] == [True, True, True, False]
    # Three in this window: allowed again once the next window's weight of them drops below 3.
    assert throttle.wait() == pytest.approx(40.0)
    clock.now += 40.0 + 0.01
    assert throttle.allow_request(_Request(), None)
    # Another token has its own allowance.
    assert _throttle("3/min", clock).allow_request(_Request("other"), None)


def test_the_previous_window_fades_out():
    clock = _Clock(60 * 100_000 + 59.0)  # the last second of a window
    throttle = _throttle("10/min", clock)
    assert all(throttle.allow_request(_Request(), None) for _ in range(10))
    clock.now += 2  # 1 s into the next window: the ten still weigh 59/60 of themselves (9.83)
    assert throttle.allow_request(_Request(), None)
    assert not throttle.allow_request(_Request(), None)
    assert 0 < throttle.wait() <= 60
    clock.now += throttle.wait() + 0.01
    assert throttle.allow_request(_Request(), None)


def test_a_zero_rate_refuses_everything():
    throttle = _throttle("0/min", _Clock(5.0))
    assert not throttle.allow_request(_Request(), None)
    assert throttle.wait() is None


@settings(max_examples=60, deadline=None)
@given(gaps=st.lists(st.floats(min_value=0, max_value=20, allow_nan=False), min_size=1, max_size=120),
       limit=st.integers(min_value=1, max_value=12))
def test_never_more_than_twice_the_rate_in_any_window_and_the_wait_is_enough(gaps, limit):
    cache.clear()
    clock = _Clock(7_000_000.0)
    throttle = _throttle(f"{limit}/min", clock)
    allowed = []
    for gap in gaps:
        clock.now += gap
        if throttle.allow_request(_Request(), None):
            allowed.append(clock.now)
        else:
            wait = throttle.wait()
            assert wait is not None and 0 < wait <= 120
            # Waiting as told is enough: the retry goes through.
            clock.now += wait + 1e-6
            assert throttle.allow_request(_Request(), None)
            allowed.append(clock.now)
    for i, start in enumerate(allowed):
        in_window = [t for t in allowed[i:] if t < start + 60]
        assert len(in_window) <= 2 * limit


@settings(max_examples=30, deadline=None)
@given(limit=st.integers(min_value=2, max_value=30), start=st.floats(min_value=0, max_value=1e6))
def test_a_steady_flow_below_the_rate_is_never_refused(limit, start):
    cache.clear()
    clock = _Clock(start)
    throttle = _throttle(f"{limit}/min", clock)
    spacing = 60 / limit * 1.01
    for _ in range(3 * limit):
        assert throttle.allow_request(_Request(), None)
        clock.now += spacing
