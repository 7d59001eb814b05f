"""Which Python the image runs: what the project pins (Pipfile, .python-version, runtime.txt, pyproject's
requires-python), else the newest the project's Django supports among the ones we default to."""

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet

# (Django major, minor) -> the Pythons it supports (Django's FAQ "What Python version can I use"), oldest first
SUPPORTED = {
    (2, 2): ("3.5", "3.6", "3.7", "3.8", "3.9"),
    (3, 0): ("3.6", "3.7", "3.8", "3.9"),
    (3, 1): ("3.6", "3.7", "3.8", "3.9"),
    (3, 2): ("3.6", "3.7", "3.8", "3.9", "3.10"),
    (4, 0): ("3.8", "3.9", "3.10"),
    (4, 1): ("3.8", "3.9", "3.10", "3.11"),
    (4, 2): ("3.8", "3.9", "3.10", "3.11", "3.12"),
    (5, 0): ("3.10", "3.11", "3.12"),
    (5, 1): ("3.10", "3.11", "3.12", "3.13"),
    (5, 2): ("3.10", "3.11", "3.12", "3.13"),
    (6, 0): ("3.12", "3.13"),
}
NEWEST_DEFAULT = "3.13"  # never defaulting past it: the newest Python the python:*-slim images and wheels all serve
MAJOR_MINOR = re.compile(r"(\d+)\.(\d+)")


@dataclass(frozen=True)
class PythonVersion:
    version: str  # major.minor, as the python:<version>-slim image is tagged
    source: str  # where it came from, for the report


def detect(root: Path, django: tuple[int, int]) -> PythonVersion:
    """The project's pinned Python (major.minor), else the default for its Django version."""
    for source, read in (("Pipfile", _pipfile), (".python-version", _python_version_file),
                         ("runtime.txt", _runtime_txt)):
        found = read(root / source)
        if found:
            return PythonVersion(found, source)
    supported = supported_by(django)
    specifier = _requires_python(root / "pyproject.toml")
    if specifier is not None:
        matching = [version for version in supported if version in specifier]
        if matching:
            return PythonVersion(matching[-1], "pyproject.toml requires-python")
    return PythonVersion(supported[-1], f"default for Django {django[0]}.{django[1]}")


def supported_by(django: tuple[int, int]) -> tuple[str, ...]:
    """The Pythons Django ``django`` supports, newest last, none past NEWEST_DEFAULT."""
    known = [key for key in SUPPORTED if key <= django]
    versions = SUPPORTED[max(known)] if known else SUPPORTED[min(SUPPORTED)]
    return tuple(version for version in versions if _key(version) <= _key(NEWEST_DEFAULT))


def _key(version: str) -> tuple[int, int]:
    major, minor = version.split(".")
    return int(major), int(minor)


def _major_minor(text: str) -> str | None:
    found = MAJOR_MINOR.search(text)
    return f"{found.group(1)}.{found.group(2)}" if found else None


def _toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}


def _pipfile(path: Path) -> str | None:
    requires = _toml(path).get("requires", {})
    value = requires.get("python_version") or requires.get("python_full_version")
    return _major_minor(str(value)) if value else None


def _python_version_file(path: Path) -> str | None:
    """pyenv's file: the first line that is not a comment (``3.11.4``, ``3.12``)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    for line in lines:
        if line.strip() and not line.lstrip().startswith("#"):
            return _major_minor(line)
    return None


def _runtime_txt(path: Path) -> str | None:
    """Heroku's ``python-3.11.4``."""
    try:
        return _major_minor(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None


def _requires_python(path: Path) -> SpecifierSet | None:
    value = _toml(path).get("project", {}).get("requires-python")
    if not isinstance(value, str):
        return None
    try:
        return SpecifierSet(value)
    except InvalidSpecifier:
        return None
