"""The project's Django settings as the project's own Python sees them: deploy/adopt/settings_probe.py run
with ``sys.executable`` (the toolkit is installed into the project's environment, so its Django is there)."""

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from deploy.errors import DeployError

PROBE = Path(__file__).with_name("settings_probe.py")
OLDEST_DJANGO = (2, 2)
TIMEOUT = 60  # seconds: importing settings is quick; one that waits on a network service would hang init


@dataclass(frozen=True)
class DjangoSettings:
    module: str
    django: str  # Django's version, as django.get_version() says it
    django_version: tuple[int, int]
    facts: dict  # the probe's names (WSGI_APPLICATION, INSTALLED_APPS, ...)

    def get(self, name: str):
        return self.facts.get(name)


def read(root: Path, module: str) -> DjangoSettings:
    """Import ``module`` in a subprocess at ``root``; refuses no Django, a Django older than 2.2, or settings that
    do not import (with the error's last line)."""
    facts = probe(root, module)
    if facts.get("django") is None:
        raise DeployError(f"Django does not import in this Python ({sys.executable}): install the toolkit into "
                          "the project's own environment (where its Django is) and run fab init from there")
    version = tuple(facts["django_version"])
    if version < OLDEST_DJANGO:
        raise DeployError(f"Django {facts['django']} is older than 2.2, the oldest the toolkit deploys: upgrade "
                          "Django first")
    if "error" in facts:
        raise DeployError(f"the settings {module} do not import: {facts['error']}: fix them so that "
                          "`python manage.py check` runs")
    return DjangoSettings(module, facts["django"], version, facts)


def probe(root: Path, module: str) -> dict:
    """The probe's JSON (its last line of output: settings may print)."""
    environ = {**os.environ, "DJANGO_SETTINGS_MODULE": module, "PYTHONDONTWRITEBYTECODE": "1"}  # no __pycache__ left
    try:
        done = subprocess.run([sys.executable, str(PROBE)], cwd=root, env=environ, capture_output=True, text=True,
                              timeout=TIMEOUT, stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        raise DeployError(f"importing the settings {module} did not finish within {TIMEOUT}s: do they wait "
                          "for a network service at import? make them import without one") from None
    lines = done.stdout.strip().splitlines()
    try:
        return json.loads(lines[-1])
    except (IndexError, ValueError):
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise DeployError(f"the settings {module} could not be read (exit {done.returncode}: {last}): fix them "
                          "so that `python manage.py check` runs") from None
