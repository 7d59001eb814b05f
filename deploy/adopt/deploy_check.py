"""`fab init`'s `manage.py check --deploy` under the production overlay as init writes it, before it writes anything:
deploy/adopt/check_probe.py run with ``sys.executable`` (the project's Python, as the settings probe), the modules
init writes read from a temporary folder, and stand-ins for what .envs/.production gives a deploy."""

import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

from deploy.adopt.detect import Project
from deploy.adopt.files import Plan, modules
from deploy.commands import django_check
from deploy.errors import DeployError

PROBE = Path(__file__).with_name("check_probe.py")
TIMEOUT = 120  # seconds: Django's checks import every app and URL module
ALLOWED_HOSTS = "example.com"  # DJANGO_ALLOWED_HOSTS as .envs/.production.example has it; DJANGO_HTTPS unset
# what the overlay sets once DJANGO_HTTPS=true (after `fab https`): the report says so instead of alarming
HTTPS_IDS = ("security.W004", "security.W008", "security.W012", "security.W016")


def check(project: Project, plan: Plan) -> list[django_check.Issue]:
    """The issues `check --deploy` reports under the overlay; raises DeployError (one line) on an error of Django's
    ERROR level or above, or when the checks do not run."""
    settings, base = modules(project)["settings"], project.layout.base
    with tempfile.TemporaryDirectory(prefix="mysite-init-") as folder:
        unwritten(project, plan, Path(folder))
        done = run(project.root, settings, folder)
    found = django_check.issues(done.stdout + done.stderr)
    errors = [issue for issue in found if issue.serious]
    if done.returncode != 0 and errors:  # the exit status says it failed, the report says why
        first = f"{errors[0].id}: " if len(errors) > 1 else ""
        raise DeployError(f"`manage.py check --deploy` under the production settings init writes ({settings}: your "
                          f"{base} + the environment) reports {django_check.counted(errors, 'errors')}: {first}"
                          f"{errors[0].message} Fix {base} so that `python manage.py check --deploy` shows no "
                          "errors, then run fab init again; nothing was written")
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or done.stdout.strip().splitlines() or ["no output"])[-1]
        raise DeployError(f"`manage.py check --deploy` under the production settings init writes ({settings}: your "
                          f"{base} + the environment) could not run: {last.strip()}: fix {base} so that it runs, "
                          "then run fab init again; nothing was written")
    return found


def unwritten(project: Project, plan: Plan, folder: Path) -> None:
    """The Python modules init writes (the overlay, its urls, the gate's settings) into ``folder``, as the probe
    reads them: those of ``plan``, and a copy of one the project has already (left alone, its text as it is). The
    overlay makes its folders beside itself at import (``database/`` on SQLite): in ``folder``, never the project."""
    written = {file.path: file.text for file in plan.write}
    for module in modules(project).values():
        path = module.replace(".", "/") + ".py"
        own = project.root / path
        text = written[path].encode("utf-8") if path in written else own.read_bytes() if own.is_file() else None
        if text is not None:
            (folder / path).parent.mkdir(parents=True, exist_ok=True)
            (folder / path).write_bytes(text)


# what the overlay reads from a deploy's env file (and their Docker-secret *_FILE forms): the check sees the values
# .envs/.production.example gives, never this shell's (a DATABASE_URL exported here would name its own database)
DEPLOY_VARIABLES = ("DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DJANGO_HTTPS", "DATABASE_URL")


def run(root: Path, settings: str, folder: str) -> subprocess.CompletedProcess:
    environ = {name: value for name, value in os.environ.items()
               if name not in DEPLOY_VARIABLES and name.removesuffix("_FILE") not in DEPLOY_VARIABLES}
    environ.update({"DJANGO_SETTINGS_MODULE": settings, "DJANGO_ALLOWED_HOSTS": ALLOWED_HOSTS,
                    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50), "PYTHONDONTWRITEBYTECODE": "1"})
    try:
        return subprocess.run([sys.executable, str(PROBE), folder], cwd=root, env=environ, capture_output=True,
                              text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        raise DeployError(f"`manage.py check --deploy` under {settings} did not finish within {TIMEOUT}s: does a "
                          "module wait for a network service at import? make it import without one") from None


def lines(found: list[django_check.Issue], settings: str) -> list[str]:
    """The report's section: the warnings, one line each (INFOS and DEBUGS left out)."""
    warnings = [issue for issue in found if issue.level == "WARNINGS"]
    head = f"check --deploy under {settings} (a stand-in secret key, DJANGO_HTTPS unset)"
    if not warnings:
        return [f"{head}: no warnings"]
    out = [f"{head}: {len(warnings)} warning{'s' if len(warnings) > 1 else ''}"]
    out += [f"  ! {issue.id}: {issue.message}" for issue in warnings]
    if any(issue.id in HTTPS_IDS for issue in warnings):
        out.append("  (the HTTPS ones go once the site serves HTTPS, `fab https`, with DJANGO_HTTPS=true in "
                   ".envs/.production)")
    return out
