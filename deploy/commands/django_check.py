"""Django's deploy checks (`manage.py check --deploy`): the command a release runs before it migrates, and what
its report says (`fab init` reads the same report on the project's machine)."""

import re
from dataclasses import dataclass
from shlex import quote

from deploy.commands.database import migrate
from deploy.commands.shell import sh

CHECKED = "check-deploy:done"  # printed between the checks' report and migrate's output (a word: never quoted)
SERIOUS = ("CRITICALS", "ERRORS")  # the sections that fail the command (Django's default --fail-level ERROR)
SECTION = re.compile(r"(CRITICALS|ERRORS|WARNINGS|INFOS|DEBUGS):")
ISSUE = re.compile(r": \(([^()\s]+)\) (.*)")  # `obj: (security.W004) message`
SENTENCE_END = re.compile(r"(?<=[.!?])\s")


def check_deploy(python: str = "python") -> str:
    return f"{quote(python)} manage.py check --deploy --no-color"


def then_migrate() -> str:
    """The deploy checks, then migrate only when they pass: one one-off container, and an error in the checks stops
    it before any migration. The checks' report goes to stdout, closed by CHECKED."""
    return sh(f"{check_deploy()} 2>&1 && echo {CHECKED} && exec {migrate()}")


@dataclass(frozen=True)
class Issue:
    id: str  # security.W004
    level: str  # the report's section: ERRORS, WARNINGS, ...
    message: str  # its first sentence

    @property
    def serious(self) -> bool:
        return self.level in SERIOUS


def issues(report: str) -> list[Issue]:
    """The issues of a `check` report: sections (``WARNINGS:``), an issue a line (``obj: (id) message``, its hint
    indented below), up to the closing ``System check identified N issues`` line."""
    found, level = [], ""
    for line in report.splitlines():
        if line.startswith("System check identified") and not line.rstrip().endswith(":"):
            break
        heading = SECTION.fullmatch(line.strip())
        if heading:
            level = heading.group(1)
            continue
        match = ISSUE.search(line)
        if level and match and not line[:1].isspace():
            found.append(Issue(match.group(1), level, SENTENCE_END.split(match.group(2).strip(), maxsplit=1)[0]))
    return found


def counted(issues: list[Issue], noun: str) -> str:
    """``3 warnings (security.W004, security.W008, security.W012)``."""
    ids = ", ".join(dict.fromkeys(issue.id for issue in issues))
    return f"{len(issues)} {noun if len(issues) != 1 else noun[:-1]} ({ids})"


def summary(issues: list[Issue]) -> str:
    """The report in one line: its errors, then its warnings (INFOS and DEBUGS are not counted)."""
    errors = [issue for issue in issues if issue.serious]
    warnings = [issue for issue in issues if issue.level == "WARNINGS"]
    return ", ".join(counted(found, noun) for found, noun in ((errors, "errors"), (warnings, "warnings"))
                     if found) or "no issues"


def passed(output: str) -> str | None:
    """The step's line for a check-then-migrate run whose checks passed (their report in one line), or None when
    the run never got past them."""
    report, checked, _ = output.partition(CHECKED)
    return f"    check --deploy: {summary(issues(report))}" if checked else None


def refusal(output: str) -> str:
    """Why a check-then-migrate run ended before its marker: the checks' errors, or that they could not run; ''
    when the checks passed (the migration failed)."""
    report, checked, _ = output.partition(CHECKED)
    if checked:
        return ""
    errors = [issue for issue in issues(report) if issue.serious]
    if errors:
        return f"check --deploy found {counted(errors, 'errors')} in the new image with the production env"
    return "check --deploy could not run in the new image with the production env"
