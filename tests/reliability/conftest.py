"""One bootstrapped + deployed server for the whole reliability suite (CI time: one setup, not five).

Package scope: the modules run in file order (bad input, data, faults, load, security) on the same
server, each leaving it serving a healthy release. The checkout is HEAD's committed tree, so no one's
uncommitted work in progress ends up in what the suite deploys.
"""

from __future__ import annotations

import contextlib
import uuid
from pathlib import Path

import pytest

from tests.harness import flows, prepared
from tests.harness.fixtures import *  # noqa: F403 - server_image and the report hook
from tests.harness.fixtures import _factory
from tests.reliability.checks import seed


@pytest.fixture(scope="package")
def checkout(tmp_path_factory) -> Path:
    return flows.make_checkout(tmp_path_factory.mktemp("rel-checkout") / "mysite", head_only=True)


@pytest.fixture(scope="package")
def laptop(tmp_path_factory) -> Path:
    return flows.make_laptop(tmp_path_factory.mktemp("rel-laptop"))


@pytest.fixture(scope="package")
def rel_server(request, server_image, laptop):
    """A prepared server (tests/harness/prepared.py): as `fab bootstrap` left it, with the base images loaded."""
    with _factory(request) as factory:
        yield prepared.start_prepared(lambda *a, **kw: factory(*a, name=f"rel-{uuid.uuid4().hex[:8]}", **kw), laptop)


@pytest.fixture(scope="package")
def deployed(rel_server, checkout, laptop):
    """Bootstrapped, deployed, seeded with posts and a comment: the release every case must keep serving."""
    done = flows.fab(rel_server, checkout, laptop, "deploy")
    assert done.returncode == 0, done.stdout + done.stderr
    seed(rel_server, checkout, laptop)
    return rel_server


@pytest.fixture
def env_file(checkout):
    """Write `.envs/.production` for one case; the good one is put back afterwards."""
    path = checkout / ".envs/.production"
    good = path.read_text()

    def write(text: str | None) -> None:
        if text is None:
            path.unlink()
        else:
            path.write_text(text)

    yield write
    path.write_text(good)


@pytest.fixture
def fabric_yaml(checkout):
    """Edit fabric.yaml for one case; restored afterwards (the checkout stays clean)."""
    path = checkout / "fabric.yaml"
    good = path.read_text()
    yield lambda text: path.write_text(text)
    path.write_text(good)
    with contextlib.suppress(Exception):
        flows.git(checkout, "checkout", "--", "fabric.yaml")
