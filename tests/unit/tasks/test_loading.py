"""`inv` as a user runs it: the tasks load with the toolkit importable as an installed package and the repository
root not on sys.path (invoke puts only tasks/ there; the repository's bench/ and testbed/ run as `python -m`)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def python(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess:
    """This interpreter with ``deploy`` importable as an installed package would be and nothing else of this
    checkout: -P keeps the working directory off sys.path."""
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    if not (site / "deploy").exists():
        (site / "deploy").symlink_to(ROOT / "deploy")
    return subprocess.run([sys.executable, "-P", *argv], cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(site)},
                          capture_output=True, text=True, timeout=60, check=False, stdin=subprocess.DEVNULL)


def test_inv_lists_the_tasks_with_only_the_toolkit_importable(tmp_path):
    done = python(tmp_path, "-m", "invoke", "--search-root", str(ROOT), "--list")
    assert done.returncode == 0, done.stderr
    assert {"bench", "lint", "test", "local.up", "production.env"} <= {
        line.split()[0] for line in done.stdout.splitlines() if line.startswith("  ") and line.strip()}


def test_loading_the_tasks_leaves_the_repository_root_off_sys_path(tmp_path):
    code = (f"import sys; from invoke import FilesystemLoader; FilesystemLoader(start={str(ROOT)!r}).load(); "
            f"print({str(ROOT)!r} in sys.path, {str(ROOT / 'tasks')!r} in sys.path)")
    done = python(tmp_path, "-c", code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True"]
