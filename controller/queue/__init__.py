"""When a key is worked on: dedup, one worker per key, delays, backoff, priority.

Keys are opaque strings; this package knows nothing of Kubernetes, HTTP or Prometheus (metrics
go through the provider protocol in ``controller.queue.metrics``).
"""

from controller.queue.clock import Clock, FakeClock, RealClock, TimerHandle
from controller.queue.metrics import NoopQueueMetricsProvider, QueueMetricsProvider
from controller.queue.ratelimiters import (
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    MaxOfRateLimiter,
    RateLimiter,
    default_controller_rate_limiter,
    default_item_rate_limiter,
)
from controller.queue.workqueue import (
    DEFAULT_PRIORITY,
    LOW_PRIORITY,
    WorkQueue,
    WorkQueueOptions,
)

__all__ = [
    "DEFAULT_PRIORITY",
    "LOW_PRIORITY",
    "BucketRateLimiter",
    "Clock",
    "FakeClock",
    "ItemExponentialFailureRateLimiter",
    "MaxOfRateLimiter",
    "NoopQueueMetricsProvider",
    "QueueMetricsProvider",
    "RateLimiter",
    "RealClock",
    "TimerHandle",
    "WorkQueue",
    "WorkQueueOptions",
    "default_controller_rate_limiter",
    "default_item_rate_limiter",
]
