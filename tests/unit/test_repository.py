"""What git may never take in: any copy of a secret env file; and what it must keep: the examples."""

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def ignored(path: str) -> bool:
    return subprocess.run(["git", "check-ignore", "-q", "--no-index", path], cwd=ROOT).returncode == 0


@pytest.mark.parametrize("path", [".envs/.production", ".envs/.production.bak", ".envs/.production.old",
                                  ".envs/.production~", ".envs/.production.swp", ".envs/.staging",
                                  ".envs/production", ".envs/.postgres"])
def test_every_env_file_but_the_examples_is_ignored(path):
    assert ignored(path)


@pytest.mark.parametrize("path", [".envs/.local", ".envs/.production.example"])
def test_the_committed_examples_stay_tracked(path):
    assert not ignored(path)
    assert (ROOT / path).is_file()
