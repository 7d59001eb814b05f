"""The shape of the tree, read from the source (ast), so a break fails here, not in review.

- Every command a runner sends (``host.run``, ``c.run``, ``local.probe``, ...) comes from a builder: a call
  into ``deploy.commands`` (or ``tasks.commands``, the builders of the local tasks), or a name bound to
  one, or a parameter that every caller fills with one. Checked in deploy/, fabfile.py, tasks/, bench/
  and testbed/. In the toolkit (deploy/, fabfile.py, tasks/) only builders quote for the shell.
- Builders are pure: they read no file, no clock, no environment and run no program.
- Task modules (the deploy modules deploy/fab.py calls with a Host) don't import each other.

``test_each_rule_catches_its_bad_examples`` feeds every rule code that must be flagged.
"""

import ast
from pathlib import Path

import pytest

from tests.harness.layering import Tree, bad_builders, unbuilt_commands

ROOT = Path(__file__).resolve().parents[3]
TREE = Tree.of(ROOT, [ROOT / "deploy", ROOT / "fabfile.py", ROOT / "tasks", ROOT / "bench", ROOT / "testbed"])
BUILDERS = sorted((ROOT / "deploy" / "commands").glob("*.py")) + [ROOT / "tasks" / "commands.py"]


def task_modules() -> set[str]:
    """The deploy modules deploy/fab.py imports that take a Host: the steps behind the menu."""
    imported = {name for name in TREE.imports(ROOT / "deploy" / "fab.py") if name.startswith("deploy.")}
    found = set()
    for name in imported:
        path = ROOT / (name.replace(".", "/") + ".py")
        if path.exists() and "Host" in {arg.annotation.id for node in ast.walk(ast.parse(path.read_text()))
                                        if isinstance(node, ast.FunctionDef) for arg in node.args.args
                                        if isinstance(arg.annotation, ast.Name)}:
            found.add(name)
    return found


BAD_RUNS = {
    "a name bound to an f-string": 'def f(host, p):\n    cmd = f"rm -rf {p}"\n    host.run(cmd)\n',
    "a join": 'def f(host, a):\n    host.run(" && ".join([a, "b"]))\n',
    "str.format": 'def f(host, p):\n    host.run("rm {}".format(p))\n',
    "a keyword command": 'def f(host, p):\n    host.run(command=f"rm {p}")\n',
    "shlex.join": 'import shlex\ndef f(host, p):\n    host.run(shlex.join(["rm", p]))\n',
    "a literal": 'def f(c):\n    c.run("docker info")\n',
    "a runner under another name": 'def f(host, p, root):\n    run = host.sudo if root else host.run\n'
                                   '    run(f"rm {p}")\n',
    "a parameter filled with a string": 'def f(host, command):\n    host.run(command)\n'
                                        'def g(host):\n    f(host, "rm -rf /")\n',
    "a conditional with one raw branch": 'from deploy.commands import docker\n'
                                         'def f(host, x):\n    host.run(docker.ps() if x else "ps")\n',
}
GOOD_RUNS = (
    'from deploy.commands import docker\ndef f(host):\n    host.run(docker.ps())\n',
    'from deploy.commands import docker\ndef f(host, x):\n    cmd = docker.ps() if x else docker.stop(x)\n'
    '    host.run(cmd, warn=True)\n',
    'from deploy.commands import distro\ndef f(host):\n    for command in distro.plan(1).commands:\n'
    '        host.sudo(command)\n',
    'from deploy.commands import docker\ndef quietly(host, command):\n    host.run(command)\n'
    'def g(host):\n    quietly(host, docker.ps())\n',
    'import subprocess\nimport wrk\nsubprocess.run(["ls"])\nwrk.run("http://x")\n',
)
BAD_BUILDERS = {
    "a file read": 'def unit(name):\n    return open(name).read()\n',
    "the clock": 'from datetime import datetime\ndef stamp():\n    return datetime.now().isoformat()\n',
    "a path read": 'from pathlib import Path\ndef t():\n    return Path("x").read_text()\n',
    "a program run": 'import subprocess\ndef v():\n    return subprocess.run(["git"]).stdout\n',
    "the environment": 'import os\ndef home():\n    return os.environ["HOME"]\n',
    "a module that does I/O": 'from deploy import releases\ndef n():\n    return releases.repo_root()\n',
}


def check_snippets(tmp_path: Path, snippets: dict[str, str] | tuple[str, ...], check) -> list[list[str]]:
    found = []
    for number, text in enumerate(snippets.values() if isinstance(snippets, dict) else snippets):
        path = tmp_path / f"snippet{number}.py"
        path.write_text(text)
        found.append(check(path))
    return found


def test_each_rule_catches_its_bad_examples(tmp_path):
    runs = check_snippets(tmp_path, BAD_RUNS, lambda p: unbuilt_commands(Tree.of(tmp_path, [p])))
    assert [bool(found) for found in runs] == [True] * len(BAD_RUNS), dict(zip(BAD_RUNS, runs, strict=True))
    builders = check_snippets(tmp_path, BAD_BUILDERS, lambda p: bad_builders(p))
    assert [bool(found) for found in builders] == [True] * len(BAD_BUILDERS), dict(
        zip(BAD_BUILDERS, builders, strict=True))


def test_the_rules_pass_good_code(tmp_path):
    runs = check_snippets(tmp_path, GOOD_RUNS, lambda p: unbuilt_commands(Tree.of(tmp_path, [p])))
    assert runs == [[]] * len(GOOD_RUNS)


def test_every_command_sent_comes_from_a_builder():
    assert unbuilt_commands(TREE) == []


@pytest.mark.parametrize("path", BUILDERS, ids=lambda p: str(p.relative_to(ROOT)))
def test_builders_are_pure(path):
    assert bad_builders(path) == []


PRODUCT = [p for p in TREE.paths
           if p not in BUILDERS and p.relative_to(ROOT).parts[0] in ("deploy", "tasks", "fabfile.py")]


@pytest.mark.parametrize("path", PRODUCT, ids=lambda p: str(p.relative_to(ROOT)))
def test_only_builders_quote_for_the_shell(path):
    """The toolkit's own code (the harness and benchmarks run local argv lists, not shell strings)."""
    assert "shlex.quote" not in TREE.imports(path) and "shlex.quote" not in path.read_text(), (
        "build the command in deploy/commands/ instead")


def test_the_task_modules_are_found():
    assert {"deploy.pipeline", "deploy.swarm_release", "deploy.database_move", "deploy.operations"} <= task_modules()
    assert "deploy.cli" not in task_modules()


@pytest.mark.parametrize("name", sorted(task_modules()))
def test_task_modules_do_not_import_each_other(name):
    path = ROOT / (name.replace(".", "/") + ".py")
    assert not (task_modules() - {name}) & TREE.imports(path)
