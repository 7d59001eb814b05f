"""A load client that never hides a failure: keep-alive connections, no retries, every error counted.

    with Load("127.0.0.1", 18080, host="blog.example", paths=["/", "/healthz"]) as load:
        ...  # deploy
    print(load.result)  # failed/total, max latency, the first failures

Each thread holds one persistent HTTP/1.1 connection (http.client), like an API client. Any status
outside 2xx/3xx and any connection error is a failure; the request is never retried. After a
failure the thread opens a new connection. Only 127.0.0.1 is allowed (docs/TESTING.md, network rules).

``retry_idle_close=True`` (off by default) makes it a browser on one point only: a GET that fails on a reused
keep-alive connection with no answer at all (the server closed that connection while it was idle:
RemoteDisconnected, ConnectionResetError, BrokenPipeError) is sent once more on a new connection, as browsers
and urllib3 do (RFC 9112, 9.3.1: a client may retry an idempotent request that met a closed connection). It
is counted in ``result.retried``; the second attempt's failure counts as the request's failure. nginx closes
idle keep-alive connections when it stops gracefully, so an nginx update without it shows each connection
idle at that instant as a failure whatever the update does.

HTTPS: pass ``tls=ssl_context``; the connection goes to 127.0.0.1 with ``host`` as the TLS server name
(SNI and certificate check). ``reconnect_every=N`` closes each connection after N requests, so a test
also exercises new handshakes (e.g. while a certificate is renewed).
"""

from __future__ import annotations

import http.client
import re
import socket
import ssl
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field

MAX_SECONDS = 900  # a forgotten load never runs forever


@dataclass
class Result:
    total: int = 0
    failed: int = 0
    max_latency: float = 0.0
    reasons: Counter = field(default_factory=Counter)
    first_failures: list[str] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)  # "GET 200", "POST 302", ... (answered requests)
    retried: int = 0  # GETs sent again after a reused connection closed with no answer (retry_idle_close)
    started: float = 0.0  # time.monotonic() when the load started: the timeline's zero
    # (seconds since `started` when the request ended, whether it failed), in the order they ended
    events: list[tuple[float, bool]] = field(default_factory=list, repr=False)
    latencies: list[float] = field(default_factory=list, repr=False)  # each request's, in the same order
    # every failure as (seconds since `started` when it was sent, when it ended, its reason)
    failures: list[tuple[float, float, str]] = field(default_factory=list, repr=False)

    def failures_in_flight(self, begin: float, end: float) -> tuple[list, list]:
        """The failures of requests in flight at some moment from ``begin`` to ``end`` (time.monotonic()): sent by
        ``end`` and ended after ``begin``; and the other failures."""
        cut = [f for f in self.failures if f[0] <= end - self.started and f[1] >= begin - self.started]
        return cut, [f for f in self.failures if f not in cut]

    def timeline(self, width: float = 0.1) -> list[tuple[int, int]]:
        """(succeeded, failed) requests per ``width`` seconds from the start, by the time each ended."""
        buckets: list[list[int]] = []
        for at, failed in self.events:
            index = int(at / width)
            while len(buckets) <= index:
                buckets.append([0, 0])
            buckets[index][1 if failed else 0] += 1
        return [(ok, bad) for ok, bad in buckets]

    def longest_stall(self, begin: float, end: float, width: float = 0.1) -> float:
        """The longest run of ``width``-second slots with no completed request, from ``begin`` to ``end`` (seconds
        since `started`): 0.0 when every slot of the span has one."""
        buckets = self.timeline(width)
        longest = current = 0
        for index in range(int(begin / width), min(int(end / width), len(buckets))):
            current = current + 1 if buckets[index][0] == 0 else 0
            longest = max(longest, current)
        return round(longest * width, 2)

    def latency_quantile(self, quantile: float, begin: float, end: float) -> float:
        """The ``quantile`` (0.99: p99) of the latencies of requests that ended from ``begin`` to ``end``; 0.0: none."""
        chosen = sorted(lat for (at, _), lat in zip(self.events, self.latencies, strict=True) if begin <= at <= end)
        if not chosen:
            return 0.0
        return chosen[min(len(chosen) - 1, int(quantile * len(chosen)))]

    def __str__(self) -> str:
        why = ", ".join(f"{k}: {v}" for k, v in self.reasons.most_common(5))
        return (f"{self.failed} failed / {self.total} requests, max latency {self.max_latency:.2f}s"
                + (f" ({why})" if why else "")
                + (f", {self.retried} retried after an idle keep-alive connection closed" if self.retried else ""))


class _TLSConnection(http.client.HTTPSConnection):
    """HTTPS to ``addr`` with ``server_name`` for SNI and the certificate check (like curl --resolve)."""

    def __init__(self, addr: str, port: int, server_name: str, context: ssl.SSLContext, timeout: float):
        super().__init__(server_name, port, timeout=timeout, context=context)
        self._addr = addr

    def connect(self) -> None:
        raw = socket.create_connection((self._addr, self.port), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)


class Load:
    def __init__(self, addr: str, port: int, *, host: str, paths: list[str] | tuple[str, ...] = ("/",),
                 threads: int = 8, timeout: float = 10.0, max_seconds: float = MAX_SECONDS,
                 tls: ssl.SSLContext | None = None, reconnect_every: int = 0, retry_idle_close: bool = False):
        if addr != "127.0.0.1":
            raise ValueError("the load client only sends traffic to 127.0.0.1")
        self.addr, self.port, self.host, self.paths = addr, port, host, list(paths)
        self.tls, self.reconnect_every, self.retry_idle_close = tls, reconnect_every, retry_idle_close
        self.threads, self.timeout, self.max_seconds = threads, timeout, max_seconds
        self.result = Result()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []

    def start(self) -> Load:
        self.result.started = time.monotonic()
        self._deadline = self.result.started + self.max_seconds
        for index in range(self.threads):
            worker = threading.Thread(target=self._work, args=(index,), daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def stop(self) -> Result:
        self._stop.set()
        for worker in self._workers:
            worker.join(self.timeout + 5)
        return self.result

    def __enter__(self) -> Load:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _record(self, latency: float, failure: str | None, status: str = "") -> None:
        ended = time.monotonic()
        with self._lock:
            self.result.total += 1
            self.result.events.append((ended - self.result.started, bool(failure)))
            self.result.latencies.append(latency)
            if status:
                self.result.statuses[status] += 1
            self.result.max_latency = max(self.result.max_latency, latency)
            if failure:
                reason = failure.split(":")[0]
                self.result.failed += 1
                self.result.reasons[reason] += 1
                self.result.failures.append((ended - latency - self.result.started, ended - self.result.started,
                                             reason))
                if len(self.result.first_failures) < 20:
                    self.result.first_failures.append(f"{time.strftime('%H:%M:%S')} {failure}")

    def _connect(self) -> http.client.HTTPConnection:
        return (_TLSConnection(self.addr, self.port, self.host, self.tls, self.timeout) if self.tls
                else http.client.HTTPConnection(self.addr, self.port, timeout=self.timeout))

    def _work(self, index: int) -> None:
        conn: http.client.HTTPConnection | None = None
        count = 0
        reused = 0  # requests already answered on ``conn``
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            path = self.paths[(index + count) % len(self.paths)]
            count += 1
            if conn is None:
                conn, reused = self._connect(), 0
            started = time.monotonic()
            failure = None
            status = ""
            for attempt in (1, 2):
                try:
                    conn.request("GET", path, headers={"Host": self.host, "Connection": "keep-alive"})
                    response = conn.getresponse()
                    response.read()
                    reused += 1
                    status = f"GET {response.status}"
                    if not 200 <= response.status < 400:
                        failure = f"HTTP {response.status}: {path}"
                    elif response.getheader("Connection", "").lower() == "close":
                        conn.close()
                        conn = None  # the server ended keep-alive politely: not a failure
                except (OSError, http.client.HTTPException) as error:
                    idle_close = isinstance(error, (http.client.RemoteDisconnected, ConnectionResetError,
                                                    BrokenPipeError))
                    if attempt == 1 and self.retry_idle_close and reused and idle_close:
                        conn.close()
                        conn, reused = self._connect(), 0
                        with self._lock:
                            self.result.retried += 1
                        continue
                    failure = f"{type(error).__name__}: {path} {error}"
                break
            self._record(time.monotonic() - started, failure, status)
            if conn is not None and (failure or (self.reconnect_every and count % self.reconnect_every == 0)):
                conn.close()
                conn = None  # reconnect after a failure; the failed request itself is never retried
        if conn is not None:
            conn.close()


class CommentLoad(Load):
    """Comment posting and reading at once through nginx, with the same no-retry rules.

        with CommentLoad("127.0.0.1", port, host="blog.example", post_path="/posts/1/",
                         comment_path="/comment/1", threads=16, max_seconds=60) as load:
            time.sleep(60)
        load.result.statuses["POST 302"]  # comments the app accepted

    Each connection first GETs ``post_path`` once for its CSRF cookie and form token, then alternates
    a comment POST (text ``f"{marker} {thread}-{n}"``) and a GET of the post. A POST counts as a
    success only when it is answered 302 (the app's redirect after storing the comment); anything
    else, and every connection error, is a failure and is never retried. Each thread stops after
    ``max_requests`` requests or ``max_seconds``, whichever comes first.
    """

    TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')

    def __init__(self, addr: str, port: int, *, host: str, post_path: str, comment_path: str,
                 marker: str = "load-test", max_requests: int = 5000, **kwargs):
        super().__init__(addr, port, host=host, paths=[post_path], **kwargs)
        self.post_path, self.comment_path, self.marker = post_path, comment_path, marker
        self.max_requests = max_requests

    def _work(self, index: int) -> None:
        conn: http.client.HTTPConnection | None = None
        token = cookie = ""
        count = 0
        while not self._stop.is_set() and time.monotonic() < self._deadline and count < self.max_requests:
            count += 1
            if conn is None:
                conn = http.client.HTTPConnection(self.addr, self.port, timeout=self.timeout)
                token = cookie = ""
            posting = bool(token) and count % 2 == 0
            started = time.monotonic()
            failure, status = None, ""
            try:
                if posting:
                    form = urllib.parse.urlencode({
                        "csrfmiddlewaretoken": token, "name": f"load {index}", "email": "load@example.com",
                        "url": "", "text": f"{self.marker} {index}-{count}"}).encode()
                    conn.request("POST", self.comment_path, body=form, headers={
                        "Host": self.host, "Connection": "keep-alive", "Cookie": f"csrftoken={cookie}",
                        "Content-Type": "application/x-www-form-urlencoded", "Origin": f"http://{self.host}",
                        "Referer": f"http://{self.host}{self.post_path}"})
                else:
                    conn.request("GET", self.post_path, headers={"Host": self.host, "Connection": "keep-alive"})
                response = conn.getresponse()
                body = response.read()
                status = f"{'POST' if posting else 'GET'} {response.status}"
                if posting and response.status != 302:
                    failure = f"HTTP {response.status}: POST {self.comment_path}"
                elif not 200 <= response.status < 400:
                    failure = f"HTTP {response.status}: GET {self.post_path}"
                elif not token:
                    token, cookie = self._csrf(response, body.decode(errors="replace"))
                    if not token:
                        failure = f"no CSRF token/cookie: GET {self.post_path}"
                if response.getheader("Connection", "").lower() == "close" and not failure:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as error:
                failure = f"{type(error).__name__}: {'POST' if posting else 'GET'} {error}"
            self._record(time.monotonic() - started, failure, status)
            if conn is not None and failure:
                conn.close()
                conn = None  # a new connection (and token); the failed request itself is never retried
        if conn is not None:
            conn.close()

    def _csrf(self, response: http.client.HTTPResponse, body: str) -> tuple[str, str]:
        found = self.TOKEN.search(body)
        cookie = ""
        for header in response.msg.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            if name.strip() == "csrftoken":
                cookie = rest.split(";", 1)[0]
        return (found.group(1), cookie) if found and cookie else ("", "")
