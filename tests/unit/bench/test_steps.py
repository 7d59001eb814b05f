"""bench/steps.py: top-level step marks from timed output lines, and a real child process read as it prints."""

import sys
import time

from bench.steps import run_timed, top_level_marks

LINES = [
    (0.5, "--> preflight: env file, git commit, the swarm of 3 node(s)\n"),
    (0.6, "    commit abc1234\n"),
    (1.3, "  ok preflight: env file, git commit, the swarm of 3 node(s) (0.8s)\n"),
    (1.4, "--> ship the images to 3 nodes\n"),
    (1.5, "--> check that a has room for the new layers\n"),  # nested: not a mark
    (1.7, "--> check that b has room for the new layers\n"),  # nested in the same parent, interleaved
    (1.9, "  ok check that a has room for the new layers (0.4s)\n"),
    (2.0, "  ok check that b has room for the new layers (0.3s)\n"),
    (9.25, "  ok ship the images to 3 nodes (7.9s)\n"),
    (9.3, "--> wait until every node converged\n"),
    (30.0, "  x wait until every node converged failed after 20.7s\n"),
    (30.1, "--> never ends\n"),
]


def test_only_top_level_steps_are_marked_with_their_start_and_own_seconds():
    assert top_level_marks(LINES) == [
        {"title": "preflight: env file, git commit, the swarm of 3 node(s)", "at": 0.5, "seconds": 0.8},
        {"title": "ship the images to 3 nodes", "at": 1.4, "seconds": 7.9},
        {"title": "wait until every node converged", "at": 9.3, "seconds": 20.7},
        {"title": "never ends", "at": 30.1, "seconds": None},
    ]


def test_a_step_nested_under_one_of_the_same_title_ends_the_inner_one_first():
    lines = [(0, "--> start nginx"), (1, "--> start nginx"), (2, "  ok start nginx (1.0s)"),
             (3, "  ok start nginx (3.0s)"), (4, "--> next")]
    assert top_level_marks(lines) == [{"title": "start nginx", "at": 0, "seconds": 3.0},
                                      {"title": "next", "at": 4, "seconds": None}]


def test_run_timed_stamps_lines_as_they_are_printed_not_when_the_command_ends():
    script = ("import sys, time\n"
              "print('--> first'); print('  ok first (0.0s)')\n"
              "time.sleep(1.0)\n"
              "print('--> second'); print('oops', file=sys.stderr)\n")
    zero = time.monotonic() - 100  # a load that started 100 s ago
    done = run_timed([sys.executable, "-c", script], zero=zero, timeout=60)
    assert done.returncode == 0 and not done.timed_out
    assert done.stderr == "oops\n" and "--> second" in done.stdout
    first, second = done.marks
    assert (first["title"], second["title"]) == ("first", "second")
    assert 100 <= done.started <= first["at"]
    assert second["at"] - first["at"] >= 0.9  # the sleep lies between them: read line by line
    assert done.seconds >= 1.0


def test_run_timed_kills_a_command_that_outlives_its_timeout():
    started = time.monotonic()
    done = run_timed([sys.executable, "-c", "import time; print('--> wait'); time.sleep(60)"], timeout=1)
    assert done.timed_out and done.returncode != 0
    assert done.marks == [{"title": "wait", "at": done.marks[0]["at"], "seconds": None}]
    assert time.monotonic() - started < 30
