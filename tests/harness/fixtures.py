"""pytest fixtures for fresh servers (testbed/servers.py).

Use them from a conftest or a test module:

    pytest_plugins = ["tests.harness.fixtures"]          # in the ROOT conftest (tests/conftest.py)
    # or, in one module:  from tests.harness.fixtures import *  # noqa: F403

Fixtures:
- `server_image`, `trixie_server_image`, `legacy_server_image` (session): image tags, built once and
  cached across runs by recipe hash.
- `server_factory` (function): `server_factory(suite="bookworm", legacy=False, **start_server_kwargs)`
  starts servers that are removed after the test, also when it fails.
- `fresh_server` (bookworm), `fresh_trixie_server`, `legacy_server` (bookworm + the article's
  legacy stack running): one server each, function-scoped.
- `module_fresh_server`, `module_trixie_server`, `module_legacy_server`: the same, shared by one module.
- `module_server_network` (module): a user-defined network; pass `network=` to a factory to put servers
  on it, where they reach each other by container name. Removed after the module's servers.

No Docker engine (or no way to build images): the fixture skips with a loud reason, or fails when
MYSITE_E2E=require (CI). MYSITE_E2E_KEEP=1 keeps servers after the run for debugging.
"""

from __future__ import annotations

import contextlib
import os

import pytest

from testbed import servers as _servers

__all__ = [
    "e2e_ready",
    "server_image",
    "trixie_server_image",
    "legacy_server_image",
    "server_factory",
    "fresh_server",
    "fresh_trixie_server",
    "legacy_server",
    "module_fresh_server",
    "module_trixie_server",
    "module_legacy_server",
    "module_server_factory",
    "module_server_network",
    "pytest_runtest_makereport",
]


def e2e_unavailable(reason: str) -> None:
    """Fail under MYSITE_E2E=require, else skip; either way the reason is loud."""
    message = f"E2E NOT RUN: {reason}"
    if os.environ.get("MYSITE_E2E") == "require":
        pytest.fail(f"{message} (MYSITE_E2E=require)", pytrace=False)
    pytest.skip(f"{message} (set MYSITE_E2E=require to make this a failure)")


_STALE_CHECKED = False


def _check_engine() -> None:
    global _STALE_CHECKED
    problem = _servers.engine_problem()
    if problem:
        e2e_unavailable(problem)
    if not _STALE_CHECKED:
        _STALE_CHECKED = True
        _servers.remove_stale_servers()


def _image(suite: str, legacy: bool) -> str:
    _check_engine()
    tag = _servers.image_tag(suite, legacy=legacy)
    if not _servers.image_exists(tag):
        problem = _servers.build_problem()
        if problem:
            e2e_unavailable(f"server image {tag} is not built and {problem}")
    return _servers.build_legacy_image(suite) if legacy else _servers.build_server_image(suite)


@pytest.fixture(scope="session")
def e2e_ready() -> None:
    """Skip/fail loudly unless a Docker engine answers."""
    _check_engine()


@pytest.fixture(scope="session")
def server_image() -> str:
    return _image("bookworm", legacy=False)


@pytest.fixture(scope="session")
def trixie_server_image() -> str:
    return _image("trixie", legacy=False)


@pytest.fixture(scope="session")
def legacy_server_image() -> str:
    return _image("bookworm", legacy=True)


class _Factory:
    """Starts servers and removes every one of them at teardown."""

    def __init__(self, request: pytest.FixtureRequest):
        self.request = request
        self.started: list[_servers.Server] = []

    def __call__(self, suite: str = "bookworm", legacy: bool = False, **kwargs) -> _servers.Server:
        image = kwargs.pop("image", None) or _image(suite, legacy)
        server = _servers.start_server(suite, legacy=legacy, image=image, **kwargs)
        self.started.append(server)
        return server

    def cleanup(self) -> None:
        failed = _failed(self.request)
        for server in self.started:
            if failed:
                with contextlib.suppress(Exception):
                    _servers.say(f"test failed: last logs of {server.name}:\n{_servers._tail(server.logs(), 80)}")
            if os.environ.get("MYSITE_E2E_KEEP") == "1":
                _servers.say(f"MYSITE_E2E_KEEP=1: keeping {server.name} (ssh -F {server.ssh_config} 127.0.0.1)")
                continue
            server.remove(wait=False)  # its volume goes in the background (testbed/servers.py)


def _failed(request: pytest.FixtureRequest) -> bool:
    node = request.node
    for when in ("setup", "call"):
        report = getattr(node, f"_mysite_e2e_rep_{when}", None)
        if report is not None and report.failed:
            return True
    return False


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Remember each phase's report so fixtures know at teardown whether the test failed."""
    report = yield
    setattr(item, f"_mysite_e2e_rep_{report.when}", report)
    return report


@contextlib.contextmanager
def _factory(request: pytest.FixtureRequest):
    factory = _Factory(request)
    try:
        yield factory
    finally:
        factory.cleanup()


@pytest.fixture
def server_factory(request):
    with _factory(request) as factory:
        yield factory


@pytest.fixture
def fresh_server(server_factory, server_image) -> _servers.Server:
    return server_factory("bookworm", image=server_image)


@pytest.fixture
def fresh_trixie_server(server_factory, trixie_server_image) -> _servers.Server:
    return server_factory("trixie", image=trixie_server_image)


@pytest.fixture
def legacy_server(server_factory, legacy_server_image) -> _servers.Server:
    return server_factory("bookworm", legacy=True, image=legacy_server_image)


@pytest.fixture(scope="module")
def module_server_factory(request):
    with _factory(request) as factory:
        yield factory


@pytest.fixture(scope="module")
def module_fresh_server(module_server_factory, server_image) -> _servers.Server:
    return module_server_factory("bookworm", image=server_image)


@pytest.fixture(scope="module")
def module_trixie_server(module_server_factory, trixie_server_image) -> _servers.Server:
    return module_server_factory("trixie", image=trixie_server_image)


@pytest.fixture(scope="module")
def module_legacy_server(module_server_factory, legacy_server_image) -> _servers.Server:
    return module_server_factory("bookworm", legacy=True, image=legacy_server_image)


@pytest.fixture(scope="module")
def module_server_network(e2e_ready):
    """A user-defined network for one module's servers; ask for it before `module_server_factory`."""
    name = _servers.create_network()
    try:
        yield name
    finally:
        if os.environ.get("MYSITE_E2E_KEEP") != "1":
            _servers.remove_network(name)
