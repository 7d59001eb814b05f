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


def test_the_longest_stall_counts_empty_slots_between_completed_requests():
    # slots 0.0-0.3 ok, 0.3-0.7 empty (4 slots), 0.7 ok, 0.8 empty, 0.9 a failure only (no completion)
    result = Result(events=[(0.05, False), (0.15, False), (0.25, False), (0.75, False), (0.95, True), (1.05, False)])
    assert result.longest_stall(0.0, 1.1) == 0.4
    assert result.longest_stall(0.75, 1.1) == 0.2  # 0.8 and 0.9: a failed request completes nothing
    assert Result(events=[(t / 10 + 0.05, False) for t in range(10)]).longest_stall(0.0, 1.0) == 0.0


def test_latency_quantiles_of_a_window_by_end_time():
    result = Result(events=[(0.1 * i, False) for i in range(1, 11)], latencies=[0.01 * i for i in range(1, 11)])
    assert result.latency_quantile(1.0, 0.0, 0.55) == 0.05  # ended by 0.55: the first five
    assert result.latency_quantile(0.5, 0.0, 2.0) == 0.06
    assert result.latency_quantile(0.99, 5.0, 6.0) == 0.0
