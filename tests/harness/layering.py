"""Reading the tree's shape from its source: where each command a runner sends comes from, what builders touch,
and which modules import which. Used by tests/unit/deploy/test_layering.py and tests/unit/test_import_circles.py.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

RUNNERS = {"run", "sudo", "probe", "ok", "output"}  # the methods that send a command (Host's, invoke's Context's)
BUILDER_MODULES = ("deploy.commands", "tasks.commands")

# What a builder may import: text and data tools, the naming contract, other builders. No I/O, clock, env, program.
PURE_IMPORTS = {
    "__future__", "shlex", "re", "json", "base64", "dataclasses", "typing", "collections", "textwrap", "enum",
    "functools", "itertools", "string", "ipaddress", "hashlib", "pathlib.PurePosixPath", "pathlib.PurePath",
    "urllib.parse", "deploy.names", "deploy.errors", "deploy.scripts", "deploy.templates", "deploy.config",
}
IMPURE_CALLS = {"open", "input", "read_text", "read_bytes", "write_text", "write_bytes", "now", "today", "getenv",
                "time", "monotonic", "urandom", "token_hex", "token_urlsafe", "getcwd", "environ"}


def module_name(root: Path, path: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@dataclass
class Module:
    path: Path
    name: str
    tree: ast.Module
    bound: dict[str, str] = field(default_factory=dict)  # a local name -> the module or object it was imported as

    @classmethod
    def read(cls, root: Path, path: Path) -> Module:
        module = cls(path, module_name(root, path), ast.parse(path.read_text(encoding="utf-8")))
        package = module.name if path.name == "__init__.py" else module.name.rpartition(".")[0]
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    module.bound[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else \
                        alias.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom):
                base = absolute(package, node.module, node.level)
                for alias in node.names:
                    module.bound[alias.asname or alias.name] = f"{base}.{alias.name}" if base else alias.name
        return module

    def imports(self) -> set[str]:
        """Every module (and ``module.name``) this one imports, relative imports made absolute."""
        package = self.name if self.path.name == "__init__.py" else self.name.rpartition(".")[0]
        found = set()
        for node in ast.walk(self.tree):
            if isinstance(node, ast.ImportFrom):
                base = absolute(package, node.module, node.level)
                found.add(base)
                found.update(f"{base}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
        return found


def absolute(package: str, module: str | None, level: int) -> str:
    if not level:
        return module or ""
    base = package.split(".")
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join([*base, *([module] if module else [])])


@dataclass
class Tree:
    root: Path
    paths: list[Path]

    @classmethod
    def of(cls, root: Path, places: list[Path]) -> Tree:
        paths = []
        for place in places:
            paths += sorted(p for p in place.rglob("*.py") if ".venv" not in p.parts) if place.is_dir() else [place]
        return cls(root, paths)

    @cached_property
    def modules(self) -> dict[Path, Module]:
        return {path: Module.read(self.root, path) for path in self.paths}

    def imports(self, path: Path) -> set[str]:
        return (self.modules[path] if path in self.modules else Module.read(self.root, path)).imports()

    @cached_property
    def functions(self) -> dict[str, list[tuple[Module, ast.FunctionDef, bool]]]:
        """Every function by name: (its module, its node, whether it is a method)."""
        found: dict[str, list] = {}
        for module in self.modules.values():
            methods = {id(f) for c in ast.walk(module.tree) if isinstance(c, ast.ClassDef)
                       for f in c.body if isinstance(f, ast.FunctionDef)}
            for node in ast.walk(module.tree):
                if isinstance(node, ast.FunctionDef):
                    found.setdefault(node.name, []).append((module, node, id(node) in methods))
        return found


def unbuilt_commands(tree: Tree) -> list[str]:
    """Runner calls whose command is not (traceably) a builder's: ``file:line: call``."""
    checker = _Provenance(tree)
    found = []
    for module in tree.modules.values():
        if module.name.startswith(BUILDER_MODULES):
            continue
        for scope, call in _runner_calls(module):
            command = call.args[0] if call.args else next(
                (k.value for k in call.keywords if k.arg in ("command", "cmd")), None)
            if command is not None and not checker.built(module, scope, command):
                found.append(f"{module.path.relative_to(tree.root)}:{call.lineno}: {ast.unparse(call)[:100]}")
    return found


def _runner_calls(module: Module):
    """(enclosing function or None, call) for each runner call; the runner layer's own calls on self are its
    callers' commands passed on, checked where those callers are."""
    def visit(node: ast.AST, scope: ast.FunctionDef | None, runner_class: bool):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                defines = {f.name for f in child.body if isinstance(f, ast.FunctionDef)}
                yield from visit(child, scope, bool(RUNNERS & defines))
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                yield from visit(child, child, runner_class)
            else:
                if (isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute)
                        and child.func.attr in RUNNERS and not _on_module(module, child.func.value)
                        and not (runner_class and ast.unparse(child.func.value) == "self")):
                    yield scope, child
                elif (isinstance(child, ast.Call) and isinstance(child.func, ast.Name) and child.func.id in RUNNERS
                      and child.func.id not in module.bound and child.func.id not in defined):
                    yield scope, child  # a runner under a local name: ``run = host.sudo if root else host.run``
                yield from visit(child, scope, runner_class)
    defined = {n.name for n in module.tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    yield from visit(module.tree, None, False)


def _on_module(module: Module, receiver: ast.expr) -> bool:
    """``subprocess.run(...)``, ``wrk.run(...)``: a module's function, not a runner sending a shell command."""
    return isinstance(receiver, ast.Name) and receiver.id in module.bound and receiver.id not in ("c", "host")


class _Provenance:
    def __init__(self, tree: Tree):
        self.tree = tree
        self.busy: set[tuple] = set()

    def built(self, module: Module, scope: ast.FunctionDef | None, node: ast.expr) -> bool:
        key = (module.name, id(scope), ast.dump(node))
        if key in self.busy:  # a cycle proves nothing either way: only the other paths decide
            return True
        self.busy.add(key)
        try:
            return self._built(module, scope, node)
        finally:
            self.busy.discard(key)

    def _built(self, module: Module, scope, node: ast.expr) -> bool:
        if isinstance(node, ast.IfExp):
            return self.built(module, scope, node.body) and self.built(module, scope, node.orelse)
        if isinstance(node, ast.Tuple | ast.List):
            return bool(node.elts) and all(self.built(module, scope, element) for element in node.elts)
        if isinstance(node, ast.Attribute | ast.Subscript | ast.Starred):
            return self.built(module, scope, node.value)
        if isinstance(node, ast.Call):
            return self._call_built(module, node)
        if isinstance(node, ast.Name):
            return self._name_built(module, scope, node.id)
        return False

    def _call_built(self, module: Module, call: ast.Call) -> bool:
        root = call.func
        while isinstance(root, ast.Attribute):
            root = root.value
        if isinstance(root, ast.Name):
            origin = module.bound.get(root.id, "")
            if origin.startswith(BUILDER_MODULES):
                return True
        if isinstance(call.func, ast.Name):  # a helper of this tree whose every return is built
            helpers = [(m, f) for m, f, method in self.tree.functions.get(call.func.id, ())
                       if not method and (m is module or module.bound.get(call.func.id, "") == f"{m.name}.{f.name}")]
            return bool(helpers) and all(self._returns_built(m, f) for m, f in helpers)
        return False

    def _returns_built(self, module: Module, function: ast.FunctionDef) -> bool:
        returns = [n.value for n in ast.walk(function) if isinstance(n, ast.Return) and n.value is not None]
        return bool(returns) and all(self.built(module, function, value) for value in returns)

    def _name_built(self, module: Module, scope, name: str) -> bool:
        where = scope if scope is not None else module.tree
        values = list(_bindings(where, name))
        if values:
            return all(value is not None and self.built(module, scope, value) for value in values)
        if scope is not None and name in {a.arg for a in (*scope.args.posonlyargs, *scope.args.args,
                                                           *scope.args.kwonlyargs)}:
            return self._parameter_built(module, scope, name)
        if scope is not None:  # a module-level name
            return self._name_built(module, None, name)
        return False

    def _parameter_built(self, module: Module, function: ast.FunctionDef, name: str) -> bool:
        """A parameter is built when every caller in the tree fills it with something built."""
        params = [a.arg for a in (*function.args.posonlyargs, *function.args.args)]
        method = any(function in c.body for c in ast.walk(module.tree) if isinstance(c, ast.ClassDef))
        position = params.index(name) - (1 if method else 0) if name in params else None
        callers = []
        for caller in self.tree.modules.values():
            for scope, call in _calls_to(caller, function.name, method, module):
                if position is not None and position < len(call.args):
                    callers.append((caller, scope, call.args[position]))
                else:
                    given = [k.value for k in call.keywords if k.arg == name]
                    callers.append((caller, scope, given[0] if given else None))
        return bool(callers) and all(value is not None and self.built(caller, scope, value)
                                     for caller, scope, value in callers)


def _bindings(scope: ast.AST, name: str):
    """The values ``name`` is bound to in ``scope`` (not in nested functions); None for a binding we can't read."""
    def visit(node: ast.AST):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
                continue
            if isinstance(child, ast.Assign) and any(_names(t, name) for t in child.targets):
                yield child.value if all(isinstance(t, ast.Name) for t in child.targets) else None
            elif isinstance(child, ast.AnnAssign | ast.AugAssign) and _names(child.target, name):
                yield child.value if isinstance(child, ast.AnnAssign) else None
            elif isinstance(child, ast.For | ast.comprehension) and _names(child.target, name):
                yield child.iter if isinstance(child.target, ast.Name) else None
            elif isinstance(child, ast.NamedExpr) and child.target.id == name:
                yield child.value
            elif isinstance(child, ast.withitem) and child.optional_vars is not None and _names(
                    child.optional_vars, name):
                yield None
            yield from visit(child)
    yield from visit(scope)


def _names(target: ast.AST, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(target))


def _calls_to(module: Module, name: str, method: bool, home: Module):
    """(enclosing function, call) for each call of function ``name`` (defined in ``home``) in ``module``."""
    def visit(node: ast.AST, scope):
        for child in ast.iter_child_nodes(node):
            inner = child if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else scope
            if isinstance(child, ast.Call):
                func = child.func
                if method and isinstance(func, ast.Attribute) and func.attr == name:
                    yield scope, child
                elif not method and isinstance(func, ast.Name) and func.id == name and (
                        module is home or module.bound.get(name) == f"{home.name}.{name}"):
                    yield scope, child
                elif not method and isinstance(func, ast.Attribute) and func.attr == name and isinstance(
                        func.value, ast.Name) and module.bound.get(func.value.id) == home.name:
                    yield scope, child
            yield from visit(child, inner)
    yield from visit(module.tree, None)


def bad_builders(path: Path) -> list[str]:
    """What makes a builder impure: an import of I/O, clock, environment or programs, or such a call."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = "deploy.commands"
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names if not _pure(a.name)]
        elif isinstance(node, ast.ImportFrom):
            base = absolute(package, node.module, node.level)
            if not base.startswith(BUILDER_MODULES):
                found += [f"from {base} import {a.name}" for a in node.names
                          if not (_pure(base) or _pure(f"{base}.{a.name}"))]
        elif isinstance(node, ast.Call):
            called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if called in IMPURE_CALLS:
                found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)[:60]}")
        elif isinstance(node, ast.Attribute) and node.attr == "environ":
            found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)[:60]}")
    return found


def _pure(name: str) -> bool:
    top = {n for n in PURE_IMPORTS if "." not in n}
    return name in PURE_IMPORTS or name.split(".")[0] in top


def import_graph(tree: Tree) -> dict[str, set[str]]:
    """Which of the tree's modules each of its modules imports (at any depth of the file)."""
    names = {m.name for m in tree.modules.values()}
    graph = {}
    for module in tree.modules.values():
        targets = set()
        for imported in module.imports():
            while imported and imported not in names:
                imported = imported.rpartition(".")[0]
            if imported and imported != module.name and not module.name.startswith(imported + "."):
                targets.add(imported)
        graph[module.name] = targets
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return sorted(groups)
