"""testbed/servers.py without Docker: what a build needs of the checkout."""

from __future__ import annotations

import subprocess
from pathlib import Path

from testbed import servers


def test_the_legacy_image_builds_in_a_checkout_without_an_e2e_folder(tmp_path, monkeypatch):
    """The engine may already hold the server image (another clone built it): then nothing has made .e2e yet."""
    e2e = tmp_path / "clone" / ".e2e"
    builds = []

    def run(argv, **kwargs):
        if argv[:2] == ["docker", "build"]:  # the context folder is the last word
            builds.append((argv, (Path(argv[-1]) / "Dockerfile").read_text()))
        return subprocess.CompletedProcess(argv, 0, stdout="", stderr="")

    monkeypatch.setattr(servers, "E2E_DIR", e2e)
    monkeypatch.setattr(servers, "build_server_image", lambda suite: f"mysite-e2e-server:{suite}-cached")
    monkeypatch.setattr(servers, "image_exists", lambda tag: False)
    monkeypatch.setattr(servers, "record_timing", lambda *args: None)
    monkeypatch.setattr(servers, "run", run)
    tag = servers.build_legacy_image("bookworm")
    assert e2e.is_dir()
    [(argv, dockerfile)] = builds
    assert tag in argv
    assert "FROM mysite-e2e-server:bookworm-cached" in dockerfile
