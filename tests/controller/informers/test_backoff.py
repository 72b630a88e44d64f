import pytest

from controller.informers.backoff import Backoff, BackoffOptions


class FakeTime:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_delays_double_from_0_8_to_a_30_second_cap_without_jitter():
    clock = FakeTime()
    backoff = Backoff(monotonic=clock, random_fraction=lambda: 0.0)
    delays = []
    for _ in range(8):
        delays.append(backoff.next_delay())
        clock.now += 1
    assert delays == pytest.approx([0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0, 30.0])


def test_jitter_adds_up_to_one_more_base_delay():
    clock = FakeTime()
    backoff = Backoff(monotonic=clock, random_fraction=lambda: 0.5)
    assert backoff.next_delay() == pytest.approx(1.2)
    assert backoff.next_delay() == pytest.approx(2.4)
    high = Backoff(monotonic=clock, random_fraction=lambda: 0.999999)
    for _ in range(10):
        delay = high.next_delay()
    assert 30.0 <= delay < 60.0


def test_two_minutes_without_failure_resets_the_sequence():
    clock = FakeTime()
    backoff = Backoff(monotonic=clock, random_fraction=lambda: 0.0)
    for _ in range(5):
        backoff.next_delay()
    clock.now += 119.9
    assert backoff.next_delay() == pytest.approx(25.6)
    clock.now += 120.0
    assert backoff.next_delay() == pytest.approx(0.8)


def test_options_are_honoured():
    backoff = Backoff(
        BackoffOptions(initial=0.01, maximum=0.05, factor=3, jitter=0),
        monotonic=FakeTime(),
    )
    assert [backoff.next_delay() for _ in range(4)] == pytest.approx([0.01, 0.03, 0.05, 0.05])
