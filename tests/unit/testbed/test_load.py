"""The load client's timeline: requests per 100 ms bucket, by the time they ended, failures apart."""

import http.server
import socket
import threading

from testbed.load import Load, Result


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


class ClosesIdleConnections(http.server.ThreadingHTTPServer):
    """Answers keep-alive GETs, and closes each connection once it answered two (as an nginx that stops
    gracefully closes its idle keep-alive connections), without telling the client."""

    daemon_threads = True


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
        self.answered = getattr(self, "answered", 0) + 1
        if self.answered == 2:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True

    def log_message(self, *args):
        pass


def _load_against_idle_closes(**options):
    server = ClosesIdleConnections(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        load = Load("127.0.0.1", server.server_address[1], host="x", threads=1, **options).start()
        deadline = threading.Event()
        while load.result.total < 20 and not deadline.wait(0.05):
            pass
        return load.stop()
    finally:
        server.shutdown()
        server.server_close()


def test_an_idle_keep_alive_connection_closed_by_the_server_is_a_failure_by_default():
    result = _load_against_idle_closes()
    assert result.failed > 0 and result.retried == 0
    assert result.reasons.keys() <= {"RemoteDisconnected", "ConnectionResetError", "BrokenPipeError"}


def test_a_browser_like_load_sends_such_a_get_once_more_and_counts_it_apart():
    result = _load_against_idle_closes(retry_idle_close=True)
    assert result.failed == 0 and result.retried > 0 and result.total >= 20
    assert f"{result.retried} retried after an idle keep-alive connection closed" in str(result)


def test_a_refused_new_connection_is_never_retried():
    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        port = spare.getsockname()[1]
    load = Load("127.0.0.1", port, host="x", threads=1, retry_idle_close=True).start()
    threading.Event().wait(0.3)
    result = load.stop()
    assert result.failed == result.total > 0 and result.retried == 0
    assert set(result.reasons) == {"ConnectionRefusedError"}
