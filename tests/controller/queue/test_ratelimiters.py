"""Rate limiters: exact client-go delay sequences on a fake clock."""

from __future__ import annotations

import pytest

from controller.queue.clock import FakeClock
from controller.queue.ratelimiters import (
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    MaxOfRateLimiter,
    default_controller_rate_limiter,
    default_item_rate_limiter,
)


def test_exponential_sequence_doubles_from_5ms_and_caps_at_1000s_on_the_19th_failure():
    limiter = ItemExponentialFailureRateLimiter()
    delays = [limiter.when("ns/a") for _ in range(21)]
    expected_uncapped = [0.005 * 2**n for n in range(18)]
    assert delays[:18] == expected_uncapped
    assert delays[:11] == [
        0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12,
    ]  # fmt: skip
    assert delays[17] == pytest.approx(655.36)
    assert delays[18] == 1000.0  # 19th failure
    assert delays[19:] == [1000.0, 1000.0]
    assert limiter.num_requeues("ns/a") == 21


def test_exponential_counts_per_key_and_forget_resets_only_that_key():
    limiter = ItemExponentialFailureRateLimiter(base=0.001, max_delay=1.0)
    assert limiter.when("a") == 0.001
    assert limiter.when("a") == 0.002
    assert limiter.when("b") == 0.001
    limiter.forget("a")
    assert limiter.num_requeues("a") == 0
    assert limiter.num_requeues("b") == 1
    assert limiter.when("a") == 0.001


def test_exponential_survives_a_huge_failure_count():
    limiter = ItemExponentialFailureRateLimiter(base=0.005, max_delay=1000.0)
    for _ in range(2000):
        delay = limiter.when("k")
    assert delay == 1000.0


def test_exponential_rejects_nonsense():
    with pytest.raises(ValueError, match="positive"):
        ItemExponentialFailureRateLimiter(base=0)


def test_bucket_gives_a_burst_of_100_then_spaces_by_a_tenth_of_a_second():
    clock = FakeClock()
    limiter = BucketRateLimiter(qps=10, burst=100, clock=clock)
    burst = [limiter.when(f"k{i}") for i in range(100)]
    assert burst == [0.0] * 100
    after = [limiter.when(f"x{i}") for i in range(3)]
    assert after == pytest.approx([0.1, 0.2, 0.3])
    assert limiter.num_requeues("k0") == 0


def test_bucket_refills_with_time_and_never_beyond_burst():
    clock = FakeClock()
    limiter = BucketRateLimiter(qps=10, burst=100, clock=clock)
    for _ in range(103):
        limiter.when("k")  # balance is now -3 tokens
    clock.advance(0.1)  # +1 token -> -2
    assert limiter.when("k") == pytest.approx(0.3)
    clock.advance(1000)  # refills to the burst size, not to 10,000
    assert [limiter.when("k") for _ in range(100)] == [0.0] * 100
    assert limiter.when("k") == pytest.approx(0.1)


def test_bucket_forget_is_a_no_op():
    clock = FakeClock()
    limiter = BucketRateLimiter(qps=1, burst=1, clock=clock)
    assert limiter.when("a") == 0.0
    limiter.forget("a")
    assert limiter.when("a") == pytest.approx(1.0)


def test_max_of_asks_every_limiter_and_returns_the_longest_delay():
    clock = FakeClock()
    exponential = ItemExponentialFailureRateLimiter(base=0.005, max_delay=1000.0)
    bucket = BucketRateLimiter(qps=1, burst=2, clock=clock)
    limiter = MaxOfRateLimiter(exponential, bucket)
    assert limiter.when("a") == 0.005  # bucket: 0 (1 token left)
    assert limiter.when("a") == 0.01  # bucket: 0 (0 left)
    assert limiter.when("b") == pytest.approx(1.0)  # bucket exhausted dominates
    # Both limiters advanced on every call:
    assert exponential.num_requeues("a") == 2
    assert bucket.when("c") == pytest.approx(2.0)
    assert limiter.num_requeues("a") == 2
    limiter.forget("a")
    assert limiter.num_requeues("a") == 0
    assert limiter.num_requeues("b") == 1


def test_max_of_needs_a_limiter():
    with pytest.raises(ValueError, match="at least one"):
        MaxOfRateLimiter()


def test_default_controller_limiter_is_exponential_max_bucket_10qps_burst_100():
    clock = FakeClock()
    limiter = default_controller_rate_limiter(clock=clock)
    assert limiter.when("a") == 0.005
    assert limiter.when("a") == 0.01
    for i in range(98):
        assert limiter.when(f"k{i}") == 0.005
    assert limiter.when("z") == pytest.approx(0.1)  # 101st token
    assert limiter.num_requeues("a") == 2


def test_default_item_limiter_is_exponential_alone():
    limiter = default_item_rate_limiter()
    delays = [limiter.when(f"k{i}") for i in range(500)]
    assert delays == [0.005] * 500  # no bucket: distinct keys never wait on each other
    assert [limiter.when("k0") for _ in range(3)] == [0.01, 0.02, 0.04]
