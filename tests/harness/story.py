"""One bootstrapped site per module, for the e2e modules that tell one deploy story on one server.

    from tests.harness.fixtures import *  # noqa: F403 - the server fixtures
    from tests.harness.story import *  # noqa: F403 - project, laptop, site
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness import flows

__all__ = ["project", "laptop", "site"]


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A git repository of the working tree (tracked + untracked, not ignored), as a user's checkout."""
    return flows.make_checkout(tmp_path_factory.mktemp("checkout") / "mysite")


@pytest.fixture(scope="module")
def laptop(tmp_path_factory) -> Path:
    return flows.make_laptop(tmp_path_factory.mktemp("laptop"))


@pytest.fixture(scope="module")
def site(module_fresh_server, project, laptop):
    """The server after `fab bootstrap`, with the base images in its engine (no registry here)."""
    return flows.bootstrap(module_fresh_server, project, laptop)
