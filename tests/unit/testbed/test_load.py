"""The load client's timeline: requests per 100 ms bucket, by the time they ended, failures apart."""

from testbed.load import Result


def test_timeline_buckets_by_end_time_and_keeps_failures_apart():
    result = Result(events=[(0.01, False), (0.09, True), (0.25, False), (0.26, False), (0.31, True)])
    assert result.timeline() == [(1, 1), (0, 0), (2, 0), (0, 1)]


def test_timeline_width_is_a_parameter():
    result = Result(events=[(0.4, False), (1.2, False), (1.3, True)])
    assert result.timeline(width=1.0) == [(1, 0), (1, 1)]


def test_no_requests_no_buckets():
    assert Result().timeline() == []
