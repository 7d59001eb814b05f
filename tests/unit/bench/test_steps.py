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


def test_steps_run_in_parallel_threads_are_all_top_level_whichever_ends_first():
    # the images shipped to three nodes at once: each starts while another is open, none is nested
    lines = [(1, "--> push"), (2, "  ok push (1.0s)"),
             (3, "--> ship the images to a"), (3.1, "--> ship the images to b"), (3.2, "--> ship the images to c"),
             (5, "  ok ship the images to b (1.9s)"), (6, "  ok ship the images to a (3.0s)"),
             (7, "  ok ship the images to c (3.8s)"),
             (8, "--> tag nginx"), (8.5, "--> inner"), (9, "  ok inner (0.5s)"), (10, "  ok tag nginx (2.0s)")]
    assert [(m["title"], m["at"], m["seconds"]) for m in top_level_marks(lines)] == [
        ("push", 1, 1.0), ("ship the images to a", 3, 3.0), ("ship the images to b", 3.1, 1.9),
        ("ship the images to c", 3.2, 3.8), ("tag nginx", 8, 2.0)]


def test_run_timed_stamps_lines_as_they_are_printed_not_when_the_command_ends():
    script = ("import sys, time\n"
              "print('--> first'); print('  ok first (0.0s)')\n"
              "time.sleep(2.0)\n"
              "print(time.monotonic(), file=sys.stderr, flush=True)\n"  # the clock is the machine's, as the test's
              "print('--> second')\n")
    zero = time.monotonic() - 100  # a load that started 100 s ago
    done = run_timed([sys.executable, "-c", script], zero=zero, timeout=60)
    assert done.returncode == 0 and not done.timed_out and "--> second" in done.stdout
    second_printed = float(done.stderr) - zero
    first, second = done.marks
    assert (first["title"], second["title"]) == ("first", "second")
    assert 100 <= done.started <= first["at"] < second_printed - 1  # the first line read before the second printed
    assert second["at"] >= round(second_printed, 2)  # (marks are rounded to 0.01 s)
    assert done.seconds >= 2.0


def test_run_timed_kills_a_command_that_outlives_its_timeout():
    started = time.monotonic()
    done = run_timed([sys.executable, "-c", "import time; print('--> wait'); time.sleep(60)"], timeout=1)
    assert done.timed_out and done.returncode != 0
    assert done.marks == [{"title": "wait", "at": done.marks[0]["at"], "seconds": None}]
    assert time.monotonic() - started < 30
