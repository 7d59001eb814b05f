"""The migration gate: during a switch the old release serves on the new schema, so a migration that
breaks it (dropping or renaming a column or table, a NOT NULL column without a default, ...) is refused
before the server changes. The release's own `manage.py unsafe_migrations` (the toolkit's Django app,
deploy/djangoapp) judges, here on this machine, in an export of the commit, under the project's settings
named by the deploy setting ``gate_settings``, against the list of migrations the server has already applied.
"""

import os
import sys
import tempfile

from deploy import releases
from deploy.commands import database
from deploy.errors import DeployError
from deploy.host import Host
from deploy.local import Local
from deploy.names import Names
from deploy.output import say


def check(host: Host, names: Names, serving: str, root: str, sha: str, settings: str) -> None:
    """Refuse (one line naming the migration and the operation) when the release would break ``serving``."""
    plan = applied(host, names, serving)
    if plan is not None:
        judge(plan, root, sha, settings)


def applied(host: Host, names: Names, serving: str) -> str | None:
    """The migrations ``serving`` has applied (`showmigrations --plan` in its container); None, said, when it does
    not answer."""
    plan = host.probe(database.applied_migrations(names.container(serving)))
    if plan.failed or "[X]" not in plan.stdout:
        say(f"    migrations: {serving} does not answer, so nothing serves old code: not checked")
        return None
    return plan.stdout


def judge(plan: str, root: str, sha: str, settings: str) -> None:
    """Refuse when a migration of commit ``sha`` not in ``plan`` (`showmigrations --plan`) breaks old code.

    ``settings``: the Django settings module the judge loads here (one that needs no database server or secret).
    """
    here = Local(env={"DJANGO_SETTINGS_MODULE": settings})
    with tempfile.TemporaryDirectory(prefix="mysite-gate-") as tree:
        releases.export(sha, tree, cwd=root)
        applied = os.path.join(tree, ".applied-migrations")
        with open(applied, "w", encoding="utf-8") as handle:
            handle.write(plan)
        found = here.probe(database.unsafe_migrations(sys.executable, applied), cwd=tree)
    problems = [line.strip() for line in found.stdout.splitlines() if line.strip()]
    if found.returncode == 0:
        say("    migrations: none that breaks the release still serving")
        return
    if not problems:
        last = (found.stderr.strip().splitlines() or ["no output"])[-1]
        raise DeployError(f"the migration check could not run here ({last}): fix it, or deploy with "
                          "--allow-unsafe-migrations")
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    raise DeployError(f"unsafe migration {problems[0]}{more}: the release still serving breaks on the new schema "
                      "during the switch; make the change in two deploys (expand, then contract: "
                      "docs/DATABASES.md), or pass --allow-unsafe-migrations")
