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


def test_failures_in_flight_in_a_window_are_told_apart_from_the_others():
    cut, sent_in_window = (0.5, 1.0, "IncompleteRead"), (0.85, 0.9, "RemoteDisconnected")
    before, later = (0.1, 0.4, "HTTP 503"), (2.0, 2.5, "HTTP 503")
    result = Result(started=100.0, failures=[before, cut, sent_in_window, later])
    assert result.failures_in_flight(100.8, 100.9) == ([cut, sent_in_window], [before, later])
