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
import os
import subprocess
from dataclasses import dataclass

import pytest
from invoke import Argument, Collection

from tests.harness.machine import NODES, ROOT, SERVER, TRACEBACK, Machine

pytestmark = pytest.mark.reliability


@pytest.fixture
def machine(monkeypatch, tmp_path) -> Machine:
    return Machine(monkeypatch, tmp_path)


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


def test_the_net_gives_every_swarm_task_its_nodes(machine):
    """So that a case reaches the check of its own option, not "no nodes given"."""
    first = {case.task: case for case in CASES if case.task.startswith("swarm.") and case.option != "nodes"
             and case.value == "empty" and case.joined}
    assert {"swarm.manage", "swarm.remove-node", "swarm.restore", "swarm.logs"} <= set(first)
    for case in first.values():
        line = argv(case, machine)
        assert f"--nodes={NODES}" in line and "-H" not in line, line
        assert "no nodes given" not in machine.fab(*line).text, case
