"""A load client that never hides a failure: keep-alive connections, no retries, every error counted.

    with Load("127.0.0.1", 18080, host="blog.example", paths=["/", "/healthz"]) as load:
        ...  # deploy
    print(load.result)  # failed/total, max latency, the first failures

Each thread holds one persistent HTTP/1.1 connection (http.client), like an API client. Any status
outside 2xx/3xx and any connection error is a failure; the request is never retried. After a
failure the thread opens a new connection. Only 127.0.0.1 is allowed (TESTBED.md network rules).

HTTPS: pass ``tls=ssl_context``; the connection goes to 127.0.0.1 with ``host`` as the TLS server name
(SNI and certificate check). ``reconnect_every=N`` closes each connection after N requests, so a test
also exercises new handshakes (e.g. while a certificate is renewed).
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
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

    def __str__(self) -> str:
        why = ", ".join(f"{k}: {v}" for k, v in self.reasons.most_common(5))
        return (f"{self.failed} failed / {self.total} requests, max latency {self.max_latency:.2f}s"
                + (f" ({why})" if why else ""))


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
                 tls: ssl.SSLContext | None = None, reconnect_every: int = 0):
        if addr != "127.0.0.1":
            raise ValueError("the load client only sends traffic to 127.0.0.1")
        self.addr, self.port, self.host, self.paths = addr, port, host, list(paths)
        self.tls, self.reconnect_every = tls, reconnect_every
        self.threads, self.timeout, self.max_seconds = threads, timeout, max_seconds
        self.result = Result()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []

    def start(self) -> Load:
        self._deadline = time.monotonic() + self.max_seconds
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

    def _record(self, latency: float, failure: str | None) -> None:
        with self._lock:
            self.result.total += 1
            self.result.max_latency = max(self.result.max_latency, latency)
            if failure:
                self.result.failed += 1
                self.result.reasons[failure.split(":")[0]] += 1
                if len(self.result.first_failures) < 20:
                    self.result.first_failures.append(f"{time.strftime('%H:%M:%S')} {failure}")

    def _work(self, index: int) -> None:
        conn: http.client.HTTPConnection | None = None
        count = 0
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            path = self.paths[(index + count) % len(self.paths)]
            count += 1
            if conn is None:
                conn = (_TLSConnection(self.addr, self.port, self.host, self.tls, self.timeout) if self.tls
                        else http.client.HTTPConnection(self.addr, self.port, timeout=self.timeout))
            started = time.monotonic()
            failure = None
            try:
                conn.request("GET", path, headers={"Host": self.host, "Connection": "keep-alive"})
                response = conn.getresponse()
                response.read()
                if not 200 <= response.status < 400:
                    failure = f"HTTP {response.status}: {path}"
                elif response.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None  # the server ended keep-alive politely: not a failure
            except (OSError, http.client.HTTPException) as error:
                failure = f"{type(error).__name__}: {path} {error}"
            self._record(time.monotonic() - started, failure)
            if conn is not None and (failure or (self.reconnect_every and count % self.reconnect_every == 0)):
                conn.close()
                conn = None  # reconnect after a failure; the failed request itself is never retried
        if conn is not None:
            conn.close()
