"""The wrk output parser and command builder (bench/wrk.py): real wrk 4.1 outputs."""

import pytest

from bench import wrk

OK = """\
Running 2s test @ http://127.0.0.1:18901/
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    67.38ms   29.05ms 187.45ms   72.08%
    Req/Sec    58.30     14.07    80.00     77.50%
  Latency Distribution
     50%   62.75ms
     75%   81.09ms
     90%  108.57ms
     99%  145.19ms
  235 requests in 2.02s, 2.99MB read
Requests/sec:    116.45
Transfer/sec:      1.48MB
"""

FAILING = """\
Running 10s test @ http://127.0.0.1:18901/static/blog/css/site.bd00393a7cb7.css
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   912.00us  301.00us    1.20s    90.00%
    Req/Sec     2.10k   100.00     2.50k    70.00%
  Latency Distribution
     50%  850.00us
     75%    1.00ms
     90%    1.50ms
     99%    4.20ms
  41000 requests in 10.00s, 120.50KB read
  Socket errors: connect 3, read 2, write 1, timeout 4
  Non-2xx or 3xx responses: 17
Requests/sec:   4100.00
Transfer/sec:     12.05KB
"""

NOTHING = """\
Running 1s test @ http://127.0.0.1:18901/
  1 threads and 1 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     0.00us    0.00us   0.00us    -nan%
    Req/Sec     0.00      0.00     0.00      -nan%
  Latency Distribution
     50%    0.00us
     75%    0.00us
     90%    0.00us
     99%    0.00us
  0 requests in 1.10s, 0.00B read
  Socket errors: connect 0, read 2575, write 0, timeout 0
Requests/sec:      0.00
Transfer/sec:       0.00B
"""


def test_parses_a_clean_run():
    r = wrk.parse(OK)
    assert (r.requests, r.seconds, r.rps) == (235, 2.02, 116.45)
    assert (r.p50_ms, r.p75_ms, r.p90_ms, r.p99_ms, r.max_ms) == (62.75, 81.09, 108.57, 145.19, 187.45)
    assert r.non_2xx_3xx == 0 and r.failed == 0
    assert r.transfer_bytes == round(2.99 * 1024**2)


def test_counts_every_failure_and_converts_units():
    r = wrk.parse(FAILING)
    assert r.errors == {"connect": 3, "read": 2, "write": 1, "timeout": 4}
    assert r.non_2xx_3xx == 17
    assert r.failed == 27
    assert r.p50_ms == pytest.approx(0.85)
    assert r.max_ms == pytest.approx(1200.0)
    assert r.as_dict()["failed"] == 27


def test_a_run_where_every_request_failed_is_read_not_hidden():
    r = wrk.parse(NOTHING)
    assert r.requests == 0 and r.rps == 0
    assert r.failed == 2575


def test_output_without_latency_distribution_is_an_error():
    no_latency = OK.replace("  Latency Distribution\n", "").replace("     99%  145.19ms\n", "")
    with pytest.raises(wrk.WrkError, match="--latency"):
        wrk.parse(no_latency)
    with pytest.raises(wrk.WrkError, match="total"):
        wrk.parse("unable to connect to 127.0.0.1:18999 Connection refused")


def test_command():
    assert wrk.command(
        "http://127.0.0.1:18901/", connections=8, duration=10, host="mysite.test", headers={"Accept-Encoding": "gzip"}
    ) == [
        "wrk", "--latency", "--threads=2", "--connections=8", "--duration=10s", "--timeout=10s",
        "--header", "Host: mysite.test", "--header", "Accept-Encoding: gzip", "http://127.0.0.1:18901/",
    ]  # fmt: skip
    assert "--threads=1" in wrk.command("http://127.0.0.1:1/", connections=1, duration=2.5)
    assert "--duration=2.5s" in wrk.command("http://127.0.0.1:1/", connections=1, duration=2.5)


def test_the_p999_script_adds_the_999th_percentile():
    argv = wrk.command("http://127.0.0.1:18901/", connections=8, duration=10, p999=True)
    assert argv[-3:] == ["--script", str(wrk.P999_SCRIPT), "http://127.0.0.1:18901/"]
    assert wrk.P999_SCRIPT.is_file() and "latency:percentile(99.9)" in wrk.P999_SCRIPT.read_text()
    assert wrk.parse(OK + "p99.9 latency: 185229us\n").p999_ms == pytest.approx(185.229)
    assert wrk.parse(OK).p999_ms is None  # run without the script: unknown, never guessed


@pytest.mark.skipif(not wrk.shutil.which("wrk"), reason="wrk is not installed (apt-get install -y wrk)")
def test_the_p999_script_runs_in_real_wrk():
    import http.server
    import threading

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        result = wrk.run(f"http://127.0.0.1:{server.server_port}/", connections=2, duration=1, p999=True)
    finally:
        server.shutdown()
    assert result.requests > 0
    # wrk prints p99 and max to 0.01 ms, the script p99.9 in whole microseconds: compare within wrk's last digit
    # (under 1,000 requests p99.9 is the slowest one: 12.463 ms against a max printed as 12.46, 13.955 as 13.95)
    assert result.p99_ms <= result.p999_ms + 0.01 and result.p999_ms <= result.max_ms + 0.01, result
