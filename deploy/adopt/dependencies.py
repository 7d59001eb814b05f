"""How the project pins its dependencies: the manager, the file the image installs from, and the packages it
names (does it bring gunicorn? psycopg?). Read with the formats' own parsers: json, tomllib, packaging."""

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from deploy.errors import DeployError

REQUIREMENTS_FOLDER_PREFERENCE = ("production.txt", "prod.txt", "base.txt")


@dataclass(frozen=True)
class Dependencies:
    manager: str  # pipenv, poetry, uv, pip, pep621
    file: str  # what the image installs from, relative to the project root
    locked: bool  # hashes/pins of every package (a lock file), or only what the project asks for
    packages: frozenset[str]  # canonical names of what the image installs from the file (a lock: not its dev group)

    def has(self, name: str) -> bool:
        return canonicalize_name(name) in self.packages


def detect(root: Path) -> Dependencies:
    """The first of Pipfile(.lock), poetry.lock, uv.lock, requirements.txt, requirements/*.txt, pyproject.toml's
    [tool.poetry] (Poetry, not locked), its [project] dependencies; refuses a project with none of them."""
    if (root / "Pipfile.lock").is_file():
        return Dependencies("pipenv", "Pipfile.lock", True, _pipfile_lock(root / "Pipfile.lock"))
    if (root / "Pipfile").is_file():
        return Dependencies("pipenv", "Pipfile", False, _pipfile(root / "Pipfile"))
    pyproject = _toml(root / "pyproject.toml")
    if (root / "poetry.lock").is_file():
        return Dependencies("poetry", "poetry.lock", True, _poetry_lock(_toml(root / "poetry.lock"), pyproject))
    if (root / "uv.lock").is_file():
        return Dependencies("uv", "uv.lock", True, _uv_lock(_toml(root / "uv.lock"), pyproject))
    requirements = requirements_file(root)
    if requirements is not None:
        return Dependencies("pip", requirements, False, _requirements(root / requirements))
    listed = pyproject.get("project", {}).get("dependencies")
    if "poetry" in pyproject.get("tool", {}):  # Poetry 1's [tool.poetry.dependencies] or Poetry 2's [project]
        return Dependencies("poetry", "pyproject.toml", False, _poetry_main(pyproject))
    if isinstance(listed, list) and listed:
        return Dependencies("pep621", "pyproject.toml", False, _names(str(item) for item in listed))
    several = sorted(path.name for path in (root / "requirements").glob("*.txt"))
    if several:
        raise DeployError(f"requirements/ holds {', '.join(several)}: which one the image installs is not clear; "
                          "name it requirements/production.txt (it may `-r base.txt`), or write requirements.txt")
    raise DeployError(f"no dependency file in {root} (Pipfile, poetry.lock, uv.lock, requirements.txt, "
                      "requirements/*.txt or pyproject.toml with [project] dependencies): write one that lists "
                      "Django, e.g. `pip freeze > requirements.txt`")


def requirements_file(root: Path) -> str | None:
    """requirements.txt, else requirements/production.txt, prod.txt, base.txt, else the folder's only .txt."""
    if (root / "requirements.txt").is_file():
        return "requirements.txt"
    folder = root / "requirements"
    for name in REQUIREMENTS_FOLDER_PREFERENCE:
        if (folder / name).is_file():
            return f"requirements/{name}"
    found = sorted(folder.glob("*.txt")) if folder.is_dir() else []
    return f"requirements/{found[0].name}" if len(found) == 1 else None


def requirement_files(root: Path, file: str) -> list[str]:
    """``file`` and every file it includes with ``-r`` (the image copies them all), relative to ``root``, sorted;
    an include outside ``root`` or missing is left out (pip then says so in the build)."""
    seen: set[Path] = set()
    for _ in _requirement_lines(root / file, seen):
        pass
    top = root.resolve()
    found = {path.resolve() for path in seen if path.is_file()}
    return sorted(path.relative_to(top).as_posix() for path in found if path.is_relative_to(top))


def _toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}


def _names(lines) -> frozenset[str]:
    names = set()
    for line in lines:
        try:
            names.add(canonicalize_name(Requirement(line).name))
        except InvalidRequirement:
            continue
    return frozenset(names)


def _pipfile_lock(path: Path) -> frozenset[str]:
    try:
        lock = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return frozenset()
    return frozenset(canonicalize_name(name) for name in lock.get("default", {}))


def _pipfile(path: Path) -> frozenset[str]:
    return frozenset(canonicalize_name(name) for name in _toml(path).get("packages", {}))


def _poetry_main(pyproject: dict) -> frozenset[str]:
    """pyproject.toml's main dependencies, Poetry 2's [project] and Poetry 1's [tool.poetry.dependencies]."""
    listed = pyproject.get("project", {}).get("dependencies")
    poetry = pyproject.get("tool", {}).get("poetry", {}).get("dependencies", {})
    named = [*(listed if isinstance(listed, list) else []), *(poetry if isinstance(poetry, dict) else [])]
    return _names(str(item) for item in named) - {"python"}


def _locked(lock: dict) -> list[dict]:
    """poetry.lock's and uv.lock's ``[[package]]`` tables, one per locked package."""
    return [package for package in lock.get("package", []) if isinstance(package, dict) and "name" in package]


def _reachable(start, edges: dict) -> set:
    seen, todo = set(), list(start)
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(edges.get(node, ()))
    return seen


def _poetry_lock(lock: dict, pyproject: dict) -> frozenset[str]:
    """What ``poetry export --only main`` writes: the packages of the main group, without the optional ones (a
    root extra's). Lock 2.1 names each package's ``groups``, 1.1 its ``category``; 2.0 neither (Poetry 1.5 to 1.8):
    then what pyproject.toml's main dependencies reach (an optional dependency, an extra's, is left out)."""
    packages = [package for package in _locked(lock) if not package.get("optional")]
    if any("groups" in package or "category" in package for package in packages):
        return frozenset(canonicalize_name(package["name"]) for package in packages
                         if "main" in package.get("groups", [package.get("category")]))
    edges = {canonicalize_name(package["name"]): [
        canonicalize_name(name) for name, spec in package.get("dependencies", {}).items()
        if not (isinstance(spec, dict) and spec.get("optional"))] for package in packages}
    optional = {canonicalize_name(name) for name, spec in pyproject.get("tool", {}).get("poetry", {}).get(
        "dependencies", {}).items() if isinstance(spec, dict) and spec.get("optional")}
    return frozenset(_reachable(_poetry_main(pyproject) - optional, edges))


def _uv_lock(lock: dict, pyproject: dict) -> frozenset[str]:
    """What ``uv export --no-dev --no-emit-project`` writes: what the project's own package reaches through its
    ``dependencies``, the extras they ask for, and its default groups but dev (``tool.uv.default-groups``)."""
    def nodes(deps) -> list[tuple[str, str | None]]:  # a package, and each of its extras asked for
        return [(canonicalize_name(dep["name"]), extra) for dep in deps if isinstance(dep, dict) and "name" in dep
                for extra in (None, *dep.get("extra", []))]

    edges: dict[tuple[str, str | None], list] = {}
    for package in _locked(lock):
        name = canonicalize_name(package["name"])
        edges.setdefault((name, None), []).extend(nodes(package.get("dependencies", [])))
        for extra, deps in package.get("optional-dependencies", {}).items():
            edges.setdefault((name, extra), []).extend(nodes(deps))
    default = pyproject.get("tool", {}).get("uv", {}).get("default-groups", ["dev"])
    start = []
    for package in _locked(lock):
        if package.get("source") in ({"virtual": "."}, {"editable": "."}):
            groups = package.get("dev-dependencies", {})
            start += nodes(package.get("dependencies", [])) + nodes(
                dep for group, deps in groups.items() if group != "dev" and (default == "all" or group in default)
                for dep in deps)
    return frozenset(name for name, _ in _reachable(start, edges))


def _requirements(path: Path) -> frozenset[str]:
    """Requirement lines, following ``-r other.txt`` includes; options and URLs without a name are skipped."""
    return _names(_requirement_lines(path, set()))


def _requirement_lines(path: Path, seen: set[Path]):
    if path in seen:
        return
    seen.add(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return
    for raw in text.replace("\\\n", " ").splitlines():
        line = raw.split(" #", 1)[0].split(" --", 1)[0].strip()  # a comment, then options such as --hash=
        if line.startswith(("-r ", "--requirement ")):
            yield from _requirement_lines(path.parent / line.split(None, 1)[1].strip(), seen)
        elif line and not line.startswith(("#", "-")):
            yield line
