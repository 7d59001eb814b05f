"""flows.under_load's start: the action waits for the load to flow, not for a fixed time."""

from __future__ import annotations

import threading
import time

from testbed.load import Load
from tests.harness import flows


def answering(load: Load, every: float) -> threading.Event:
    """Count an answer every ``every`` seconds, as the clients would; set the returned event to stop."""
    stop = threading.Event()

    def answer():
        while not stop.wait(every):
            load._record(0.001, None, "GET 200")

    threading.Thread(target=answer, daemon=True).start()
    return stop


def test_the_action_starts_once_every_client_had_answers():
    load = Load("127.0.0.1", 1, host="blog.example")
    stop = answering(load, 0.002)
    started = time.monotonic()
    flows.load_flowing(load)
    waited = time.monotonic() - started
    stop.set()
    assert load.result.total >= 4 * load.threads == 4 * flows.LOAD_CLIENTS
    assert waited < 1.0


def test_a_load_that_gets_no_answers_waits_no_longer_than_before():
    load = Load("127.0.0.1", 1, host="blog.example")
    started = time.monotonic()
    flows.load_flowing(load, at_most=0.3)
    assert 0.3 <= time.monotonic() - started < 0.6 and load.result.total == 0
