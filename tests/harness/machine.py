"""A fake machine for running `fab` and `inv` tasks in-process: Fabric's Connection, invoke's Context.run and
subprocess replaced by recorders, so a test sees every command a task would send or run, and nothing real runs.

Used by the hostile-input net (tests/reliability/test_hostile_input.py) and the CLI tests (tests/unit/deploy).
"""

from __future__ import annotations

import importlib
import importlib.util
import io
import os
import shutil
import subprocess
import sys
import time
import traceback
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path

import paramiko
import pytest
from fabric import Connection
from fabric.main import make_program
from invoke import Context, Program, Result
from invoke import __version__ as invoke_version

from deploy.commands import compose, docker, shell
from deploy.commands.releases import read_current
from deploy.config import DeployConfig
from deploy.names import TOOLKIT_WHEEL_FOLDER, Names

ROOT = Path(__file__).resolve().parents[2]
TRACEBACK = "Traceback (most recent call last)"
SERVER = "deploy@srv.example:2200"
NODES = "deploy@srv.example:2200,deploy@srv2.example:2200"  # a cluster's, given to every swarm task
RELEASE = "20261124100509-bbbbbbb"
STRONG_KEY = "k" + "Zq8#vL2!pX9@tR4^wY7&nB3*cF6(hM1)sG5_eA0+uKx7Yw" + "Q2w"


@dataclass
class Run:
    code: int
    out: str
    err: str
    remote: list[str] = field(default_factory=list)  # commands, uploads and downloads sent to a server
    local: list[str] = field(default_factory=list)  # programs started on this machine
    connected: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.out + self.err

    def __str__(self) -> str:
        return (f"exit {self.code}\n--- out\n{self.out}--- err\n{self.err}"
                f"--- remote {self.remote}\n--- local {self.local}")


class Machine:
    """This laptop and its servers, faked: every command is recorded and answered, none runs.

    The project folder is a fresh one (a valid `.envs/.production` for example.com, HOME, cwd); the
    tasks are the real ones (fabfile.py and fabric.yaml, tasks/) found with --search-root.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
        self.project = tmp_path / "a" / "b" / "project"  # so ../../etc/passwd names no existing folder
        (self.project / ".envs").mkdir(parents=True)
        (self.project / ".envs/.production").write_text(
            f"DJANGO_SECRET_KEY={STRONG_KEY}\nDJANGO_ALLOWED_HOSTS=example.com\n")
        shutil.copy(ROOT / ".envs/.production.example", self.project / ".envs")
        (self.project / "home").mkdir()
        self.backup = self.project / "good.sqlite3"
        self.backup.write_bytes(b"SQLite format 3\x00" + b"\0" * 100)
        self.dump = self.project / "good.pgdump"
        self.dump.write_bytes(b"PGDMP\x01\x0e\x00" + b"\0" * 100)  # pg_dump's custom format, as swarm.backup takes
        self.remote: list[str] = []
        self.local: list[str] = []
        self.connected: list[str] = []
        # the server's answers (the rest: empty output, exit 0): RELEASE deployed, its app container and nginx up
        names = Names.of(DeployConfig(), "/home/deploy")
        self.answers = {
            shell.home(): "/home/deploy",
            compose.detect(): "v2\n",
            read_current(names): f"releases/{RELEASE}\n",
            docker.app_containers(names.project): f"{names.container(RELEASE)} Up 1 hour\n",
            docker.nginx_container(names.project): "mysite-nginx-1\n",
        }
        self._install(monkeypatch)

    def _install(self, mp: pytest.MonkeyPatch) -> None:
        mp.chdir(self.project)
        mp.setenv("HOME", str(self.project / "home"))
        for name in [n for n in os.environ if n.startswith("MYSITE_")]:
            mp.delenv(name)
        mp.setattr(sys, "stdin", io.StringIO(""))  # no terminal, as in CI
        mp.setattr(sys, "path", list(sys.path))  # each load of the tasks puts its folder first again
        for name in ("run", "sudo"):
            mp.setattr(Connection, name, self._remote_command(name))
        for name in ("put", "get"):
            mp.setattr(Connection, name, self._transfer(name))
        for name in ("forward_local", "forward_remote", "sftp", "create_session", "shell"):
            mp.setattr(Connection, name, self._refuse(f"Connection.{name}"))
        mp.setattr(Connection, "open", lambda conn: self.connected.append(f"{conn.user}@{conn.host}:{conn.port}"))
        mp.setattr(Connection, "close", lambda conn: None)
        mp.setattr(paramiko.SSHClient, "connect", self._refuse("a real SSH connection"))
        for name in ("run", "sudo"):
            mp.setattr(Context, name, lambda context, command, **kwargs: self._local_command(command))
        mp.setattr(subprocess, "run", self._subprocess)
        mp.setattr(subprocess, "Popen", self._refuse("subprocess.Popen"))
        mp.setattr(os, "system", self._refuse("os.system"))
        mp.setattr(time, "sleep", lambda seconds: None)
        # the production tasks write and read the env file under their ROOT: this project instead
        mp.setattr(importlib.import_module("tasks.production"), "ROOT", self.project)

    @staticmethod
    def _refuse(what: str):
        def refuse(*args, **kwargs):
            raise AssertionError(f"{what} was reached: the net must never run anything for real")
        return refuse

    def _remote_command(self, kind: str):
        def call(conn, command, **kwargs):
            self.remote.append(f"{kind}: {command}")
            command.encode("utf-8")  # paramiko sends UTF-8: text that is not fails there too
            return Result(stdout=self.answers.get(command, ""), stderr="", exited=0, command=command)
        return call

    def _transfer(self, kind: str):
        def call(conn, source, target=None, **kwargs):
            self.remote.append(f"{kind}: {source} -> {target}")
        return call

    def _local_command(self, command: str) -> Result:
        self.local.append(command)
        return Result(stdout="v2\n" if command == compose.detect() else "", stderr="", exited=0, command=command)

    def _subprocess(self, argv, *args, **kwargs):
        """Local git, answered for this project; anything else started here is a failure of the net."""
        if not (isinstance(argv, list | tuple) and argv and argv[0] == "git"):
            raise AssertionError(f"local program {argv!r} was started: the net must never run anything")
        self.local.append(" ".join(argv))
        # the project's commit holds no folder of the toolkit's wheel
        if "cat-file" in argv and argv[-1].endswith(f":{TOOLKIT_WHEEL_FOLDER}"):
            return subprocess.CompletedProcess(argv, 128, "" if kwargs.get("text") else b"", "")
        answers = {"--show-toplevel": str(self.project), "--verify": "a" * 40}
        out = next((text for flag, text in answers.items() if flag in argv), "")
        return subprocess.CompletedProcess(argv, 0, out if kwargs.get("text") else out.encode(), "")

    def fab(self, *argv: str, root: Path = ROOT) -> Run:
        """`fab ARGV` with the fabfile.py and fabric.yaml in ``root`` (the project's own by default)."""
        return self._run(make_program(), ["fab", "--search-root", str(root), *argv])

    def inv(self, *argv: str) -> Run:
        program = Program(name="Invoke", binary="inv[oke]", binary_names=["invoke", "inv"], version=invoke_version)
        return self._run(program, ["inv", "--search-root", str(ROOT), *argv])

    def _run(self, program: Program, argv: list[str]) -> Run:
        self.remote, self.local, self.connected = [], [], []
        # a real terminal's streams: stdout refuses text that is not UTF-8, stderr escapes it
        out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict", write_through=True)
        err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="backslashreplace", write_through=True)
        code = 0
        saved_argv = sys.argv
        sys.argv = argv
        try:
            with redirect_stdout(out), redirect_stderr(err):
                try:
                    program.run(argv)
                except SystemExit as done:
                    code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
                except BaseException:  # noqa: BLE001 - what Python would print as a traceback
                    traceback.print_exc(file=err)
                    code = 1
        finally:
            sys.argv = saved_argv
        return Run(code, out.buffer.getvalue().decode(), err.buffer.getvalue().decode(),
                   self.remote, self.local, self.connected)


def refused(done: Run, *words: str) -> str:
    """Exit 1 and one line on stderr naming ``words``; no traceback, nothing sent to a server or run here."""
    assert TRACEBACK not in done.text, done
    assert done.code == 1, done
    lines = done.err.splitlines()
    assert len(lines) == 1, done
    for word in words:
        assert word in lines[0], done
    assert done.remote == [] and done.local == [], done
    return lines[0]
