"""Per-key sliding-window rate limits, driven by a fake clock."""

from sectorwatch.web.limits import RateLimit


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def test_allows_limit_then_refuses_and_refusals_are_not_counted():
    clock = Clock()
    rl = RateLimit(3, 60, clock=clock)
    assert [rl.allow("ip") for _ in range(5)] == [True, True, True, False, False]
    clock.t += 30
    assert not any(rl.allow("ip") for _ in range(10))  # refused, and not counted
    clock.t += 30  # the first three hits are now a full window old
    assert [rl.allow("ip") for _ in range(4)] == [True, True, True, False]


def test_window_slides():
    clock = Clock()
    rl = RateLimit(2, 60, clock=clock)
    assert rl.allow("k")
    clock.t += 40
    assert rl.allow("k")
    clock.t += 19
    assert not rl.allow("k")
    clock.t += 1  # the first hit leaves the window; the second is still in it
    assert rl.allow("k")
    assert not rl.allow("k")


def test_keys_are_independent():
    rl = RateLimit(1, 60, clock=Clock())
    assert rl.allow("a")
    assert not rl.allow("a")
    assert rl.allow("b")
    assert not rl.allow("b")


def test_max_keys_forgets_least_recently_seen():
    rl = RateLimit(1, 60, max_keys=2, clock=Clock())
    assert rl.allow("a") and rl.allow("b") and rl.allow("c")  # "a" forgotten
    assert not rl.allow("c")  # remembered; "c" now most recently seen
    assert rl.allow("a")  # forgotten, so allowed again; "b" is now forgotten
    assert rl.allow("b")
    assert not rl.allow("a")
    many = RateLimit(1, 60, max_keys=10, clock=Clock())
    for n in range(1000):
        many.allow(f"k{n}")
    assert len(many._hits) == 10


def test_retry_after_is_at_least_one_shrinks_and_is_enough():
    clock = Clock()
    rl = RateLimit(1, 60, clock=clock)
    assert rl.retry_after("unknown") == 1
    assert rl.allow("k") and not rl.allow("k")
    first = rl.retry_after("k")
    assert 60 <= first <= 61
    clock.t += 30
    second = rl.retry_after("k")
    assert 1 <= second < first and second <= 31
    clock.t += 29.9
    assert rl.retry_after("k") == 1 and not rl.allow("k")
    clock.t = 1000.0 + first  # waiting as long as told is enough
    assert rl.allow("k")
