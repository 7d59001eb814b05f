"""deploy/commands/health.py: the wait loop around a check, run by sh as the server runs it."""

import subprocess

from deploy.commands import health


def run_wait(tmp_path, answers: str, broken_after: int) -> tuple[int, int]:
    """``health.wait_until`` run by sh on a check that exits with each of ``answers`` in turn, then 0."""
    left = tmp_path / "answers"
    left.write_text(answers)
    check = (f"sh -c 'a=$(cat {left}); [ -z \"$a\" ] && exit 0; printf %s \"${{a#?}}\" > {left}; "
             "exit ${a%\"${a#?}\"}'")
    command = health.wait_until(check, 30, broken_after=broken_after).replace("sleep 1", "sleep 0.01")
    done = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=20)
    return done.returncode, len(answers) - len(left.read_text())


def test_a_release_that_keeps_answering_a_server_error_is_judged_broken_without_waiting_out_the_deadline(tmp_path):
    assert run_wait(tmp_path, "3333333", broken_after=3) == (3, 3)
    # "not up yet" between breaks the run: only answers in a row count
    assert run_wait(tmp_path, "3313313330", broken_after=3) == (3, 9)
    assert run_wait(tmp_path, "33133", broken_after=3) == (0, 5)  # then healthy: it passes


def test_without_a_limit_a_broken_answer_is_just_not_yet(tmp_path):
    assert run_wait(tmp_path, "3333", broken_after=0) == (0, 4)
