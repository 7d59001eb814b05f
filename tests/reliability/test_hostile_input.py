"""The net under every option: hostile values into every `fab` and `inv` task, in-process, nothing real runs.

For each option of each task (found through the collections themselves, so a new task or option is
covered without editing this file) and for `-H`, each value of VALUES: no traceback ever reaches the
user; a value the option must refuse ends with a non-zero exit and no command sent anywhere, neither
to a server nor to a local program (docker, pytest). The programs run in this process against
`Machine`: Fabric's Connection, invoke's Context.run and subprocess are replaced by recorders.
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
from invoke import Argument, Collection, Context, Program, Result
from invoke import __version__ as invoke_version

from deploy.commands import compose, docker, shell
from deploy.commands.releases import read_current
from deploy.config import DeployConfig
from deploy.names import Names

pytestmark = pytest.mark.reliability

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
        mp.setattr(sys, "path", list(sys.path))  # each load of the tasks puts the repository root first again
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


@pytest.fixture
def machine(monkeypatch, tmp_path) -> Machine:
    return Machine(monkeypatch, tmp_path)


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


# --- the cases: every option of every task, from the collections themselves -------------------------------------

VALUES = {
    "empty": "",
    "long": "x" * 10_000,
    "newline": "a\nb",
    "single quote": "'",
    "double quote": '"',
    "command substitution": "$(touch /tmp/pwned)",
    "non-UTF-8": os.fsdecode(b"caf\xe9"),  # how a byte that is not UTF-8 arrives in sys.argv
    "negative": "-1",
    "huge": str(10**30),
    "path traversal": "../../etc/passwd",
}
PAYLOAD = "$(touch"

# Values an option may legitimately take: for these the case asserts only that no traceback shows.
# Every other value must be refused (a non-zero exit, one line on stderr, nothing sent or run).
MAY_PASS = {
    ("fab", "manage", "command"): {"long", "newline", "command substitution", "negative", "huge", "path traversal"},
    ("fab", "swarm.manage", "command"): {"long", "newline", "command substitution", "negative", "huge",
                                         "path traversal"},
    ("inv", "local.manage", "command"): {"long", "newline", "command substitution", "negative", "huge",
                                         "path traversal"},
    ("inv", "test", "args"): {"empty", "long", "newline", "command substitution", "negative", "huge",
                              "path traversal"},
    ("fab", "backup", "output"): {"single quote", "double quote", "negative", "huge"},
    ("fab", "swarm.backup", "output"): {"single quote", "double quote", "negative", "huge"},
    ("fab", "https", "domain"): {"empty"},  # then the first entry of DJANGO_ALLOWED_HOSTS
    ("fab", "https", "acme_server"): {"empty"},  # then Let's Encrypt
    ("fab", "https", "acme_ca_bundle"): {"empty"},  # then none
    ("inv", "production.build", "tag"): {"huge"},  # a tag of digits is a tag
    ("inv", "production.check", "tag"): {"huge"},
}
# Other options a task needs so that a case is refused for its own value only ("{backup}": a real backup file,
# "{dump}": a real pg_dump); every swarm task also gets the cluster's --nodes.
CONTEXT = {
    ("fab", "https"): {"domain": "example.com", "email": "you@example.com"},
    ("fab", "restore"): {"file": "{backup}", "yes": True},
    ("fab", "manage"): {"command": "check"},
    ("fab", "swarm.restore"): {"file": "{dump}", "yes": True},
    ("fab", "swarm.manage"): {"command": "check"},
    ("fab", "swarm.remove-node"): {"host": "deploy@srv2.example:2200"},
}
FRESH = {("inv", "production.env")}  # tasks that create .envs/.production: they run in a project without one


@dataclass(frozen=True)
class Case:
    program: str
    task: str
    option: str  # the task's parameter, or "hosts" for -H
    value: str  # a key of VALUES
    joined: bool  # --option=VALUE, else --option VALUE

    @property
    def id(self) -> str:
        option = "--" + self.option.replace("_", "-")
        return f"{self.program} {self.task} {option}{'=' if self.joined else ' '}<{self.value}>"

    @property
    def refused(self) -> bool:
        if self.option == "hosts" and self.task.startswith("swarm.") and self.value == "empty":
            return False  # no -H at all: a swarm task has its --nodes
        return self.value not in MAY_PASS.get((self.program, self.task, self.option), set())


def collections() -> dict[str, Collection]:
    """The project's tasks, read afresh (sys.modules may hold a fabfile another test loaded from elsewhere)."""
    spec = importlib.util.spec_from_file_location("fabfile", ROOT / "fabfile.py")
    fabfile = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fabfile)
    return {"fab": Collection.from_module(fabfile), "inv": importlib.import_module("tasks").ns}


def options() -> list[tuple[str, str, Argument]]:
    found = []
    for program, collection in collections().items():
        for name in sorted(collection.task_names):
            found += [(program, name, argument) for argument in collection[name].get_arguments()]
    return found


def cases() -> list[Case]:
    found = []
    for program, name, argument in options():
        for value in VALUES:
            found.append(Case(program, name, argument.name, value, joined=True))
            if argument.takes_value:
                found.append(Case(program, name, argument.name, value, joined=False))
    for name in sorted(collections()["fab"].task_names):
        for value in VALUES:
            found += [Case("fab", name, "hosts", value, joined) for joined in (True, False)]
    return found


def argv(case: Case, machine: Machine) -> list[str]:
    """The command line of ``case``: the hostile value, and what else the task needs to get that far."""
    def flag(name: str) -> str:
        return "--" + name.replace("_", "-")

    value = VALUES[case.value]
    words = [flag(case.option) + "=" + value] if case.joined else [flag(case.option), value]
    cluster = case.task.startswith("swarm.")
    context = [f"--nodes={NODES}"] if cluster and case.option != "nodes" else []
    if case.option == "hosts":
        return [*words, case.task, *context]
    for name, good in CONTEXT.get((case.program, case.task), {}).items():
        if name != case.option:
            context += [flag(name)] if good is True else [
                f"{flag(name)}={good.format(backup=machine.backup, dump=machine.dump)}"]
    if case.program == "fab" and not cluster:  # a swarm task reaches its nodes through --nodes, not -H
        return ["-H", SERVER, case.task, *context, *words]
    return [case.task, *context, *words]


def substitution_outside_quotes(command: str) -> bool:
    """True when the shell that runs ``command`` would expand PAYLOAD (it is outside single quotes)."""
    quote = ""
    index = 0
    while index < len(command):
        character = command[index]
        if character == "\\" and quote != "'":
            index += 2
            continue
        if character in "'\"" and quote in ("", character):
            quote = "" if quote else character
        elif quote != "'" and command.startswith(PAYLOAD, index):
            return True
        index += 1
    return False


CASES = cases()


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hostile_value(machine, case):
    if (case.program, case.task) in FRESH:
        (machine.project / ".envs/.production").unlink()
    run = getattr(machine, case.program)(*argv(case, machine))
    assert TRACEBACK not in run.text, run
    assert not [sent for sent in run.remote + run.local if substitution_outside_quotes(sent)], run
    if case.refused:
        assert run.code != 0, run
        assert len(run.err.strip().splitlines()) == 1, run
        assert run.remote == [] and run.connected == [], run
        if case.program == "inv":
            assert run.local == [], run


def test_the_net_covers_every_option():
    covered = {(case.program, case.task, case.option) for case in CASES}
    assert {("fab", "logs", "lines"), ("fab", "deploy", "hosts"), ("fab", "manage", "command"),
            ("inv", "production.up", "port"), ("inv", "test", "args"), ("inv", "local.logs", "tail")} <= covered
    assert {(program, name, argument.name) for program, name, argument in options()} <= covered
    assert len(CASES) > 600


def test_the_net_sees_what_it_looks_for(machine, monkeypatch):
    assert substitution_outside_quotes("echo $(touch /tmp/pwned)")
    assert substitution_outside_quotes('echo "$(touch /tmp/pwned)"')
    assert not substitution_outside_quotes("echo '$(touch /tmp/pwned)' \\$(touch")
    assert not substitution_outside_quotes("sh -c 'echo '\"'\"'$(touch /tmp/pwned)'\"'\"''")
    monkeypatch.setattr(importlib.import_module("deploy.operations"), "audit", lambda *args, **kwargs: 1 / 0)
    assert TRACEBACK in machine.fab("-H", SERVER, "audit").err
    with pytest.raises(AssertionError, match="must never run anything"):
        subprocess.Popen(["true"])
