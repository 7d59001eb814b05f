"""One bootstrapped site per module, for the e2e modules that tell one deploy story on one server.

`site` is a prepared server (tests/harness/prepared.py): bootstrapped, base images loaded, build cache
warm. `cold_site` bootstraps a fresh server for real and loads the base images; its first deploy builds
on a server that never built anything (test_deploy.py keeps that path).

    from tests.harness.fixtures import *  # noqa: F403 - the server fixtures
    from tests.harness.story import *  # noqa: F403 - project, laptop, site
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness import flows, prepared

__all__ = ["project", "laptop", "site", "cold_site"]


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A git repository of the working tree (tracked + untracked, not ignored), as a user's checkout."""
    return flows.make_checkout(tmp_path_factory.mktemp("checkout") / "mysite")


@pytest.fixture(scope="module")
def laptop(tmp_path_factory) -> Path:
    return flows.make_laptop(tmp_path_factory.mktemp("laptop"))


@pytest.fixture(scope="module")
def site(module_server_factory, server_image, laptop):
    """A server as `fab bootstrap` left it, the base images and the build cache in its engine (prepared)."""
    return prepared.start_prepared(module_server_factory, laptop)


@pytest.fixture(scope="module")
def cold_site(module_fresh_server, project, laptop):
    """A fresh server after a real `fab bootstrap`, with the base images in its engine (no registry here)."""
    return flows.bootstrap(module_fresh_server, project, laptop)
