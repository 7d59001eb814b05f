"""The shape of deploy/: shell strings are built only in deploy/commands/, and task modules don't import each other.

These read the source (ast), so a new inline command or a new cross-import fails here, not in review.
"""

import ast
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
RUNNERS = {"run", "sudo", "probe", "ok", "output"}  # the Host methods that send a command
TASK_MODULES = {"bootstrap", "legacy", "services", "pipeline", "operations", "https"}


def modules(outside_commands: bool = True) -> list[Path]:
    found = sorted(DEPLOY.rglob("*.py"))
    return [p for p in found if not (outside_commands and "commands" in p.relative_to(DEPLOY).parts)]


def has_literal_text(node: ast.AST) -> bool:
    """Text written in place: a string or f-string, alone or joined; a builder's call (with its data) is not."""
    if isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str)):
        return True
    if isinstance(node, ast.Call):
        return False
    return any(has_literal_text(child) for child in ast.iter_child_nodes(node))


def inline_commands(path: Path) -> list[str]:
    """``host.run("...")``-like calls whose command is (or contains) a string written in place."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in RUNNERS
                and ast.unparse(node.func.value) != "subprocess"  # local programs, an argv list: no shell
                and node.args and has_literal_text(node.args[0])):
            found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)[:80]}")
    return found


def imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_the_checks_see_what_they_look_for(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text('from deploy import pipeline\nhost.run(f"rm -rf {x}")\nhost.probe("cat " + y)\nhost.run(cmd)\n'
                   'host.run(docker.stop(["a"], 3))\n')
    assert len(inline_commands(bad)) == 2
    assert "deploy.pipeline" in imports(bad)


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_no_shell_string_outside_commands(path):
    assert inline_commands(path) == []


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_only_builders_quote_for_the_shell(path):
    quoting = "shlex.quote" in imports(path) or "shlex.quote" in path.read_text()
    assert not quoting, "build the command in deploy/commands/ instead"


@pytest.mark.parametrize("name", sorted(TASK_MODULES))
def test_task_modules_do_not_import_each_other(name):
    others = {f"deploy.{other}" for other in TASK_MODULES - {name}}
    assert not others & imports(DEPLOY / f"{name}.py")


@pytest.mark.parametrize("path", modules(outside_commands=False), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_builders_import_no_runner(path):
    if "commands" not in path.relative_to(DEPLOY).parts:
        return
    assert not {"deploy.host", "fabric", "invoke"} & {i.split(".")[0] if i.startswith(("fabric", "invoke")) else i
                                                       for i in imports(path)}
