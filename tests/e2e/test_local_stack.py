"""local.yml end to end: the dev server in a container, with the code bind-mounted from a repo copy."""

from __future__ import annotations

import time

import pytest

from tests.e2e.conftest import Stack, http_get, measure, remove_images, wait_http

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

PROJECT = "mysite-e2e-local"
TAG = "e2e-local"


@pytest.fixture(scope="module")
def local_stack(base_images, compose_kind, repo_copy_factory):
    from tests.e2e.conftest import free_port

    src = repo_copy_factory("local-src")  # a copy: the template edit below must not touch the real tree
    port = free_port()
    s = Stack(
        kind=compose_kind,
        src=src,
        file="local.yml",
        project=PROJECT,
        port=port,
        env={"MYSITE_LOCAL_PORT": str(port), "MYSITE_LOCAL_TAG": TAG},
    )
    s.teardown()
    try:
        took, _ = s.timed("build")
        measure(f"local image build (mysite-local:{TAG}): {took:.1f}s")
        s.compose("up", "--detach")
        wait_http(port, "/", timeout=180)
        s.compose("run", "--rm", "mysite", "python", "manage.py", "seed_demo", "--posts", "3")
        yield s
    finally:
        s.teardown()
        remove_images(f"mysite-local:{TAG}")


def test_the_blog_is_served_by_runserver(local_stack):
    index = http_get(local_stack.port, "/")
    assert index.status == 200
    assert 'href="/posts/' in index.body
    # DEBUG static serving: the CSS comes from runserver, unhashed
    assert 'href="/static/blog/css/site.css"' in index.body
    assert http_get(local_stack.port, "/static/blog/css/site.css").status == 200


def test_only_loopback_is_published(local_stack):
    from tests.e2e.conftest import docker

    published = docker("port", local_stack.container("mysite")).stdout
    assert published.strip() == f"8000/tcp -> 127.0.0.1:{local_stack.port}"


def test_a_template_edit_shows_without_a_rebuild(local_stack):
    base = local_stack.src / "blog" / "templates" / "base.html"
    marker = f"e2e-template-edit-{int(time.time())}"
    text = base.read_text()
    assert "</body>" in text
    base.write_text(text.replace("</body>", f"<!-- {marker} --></body>", 1))
    start = time.monotonic()
    deadline = start + 60
    while time.monotonic() < deadline:
        answer = http_get(local_stack.port, "/")
        if marker in answer.body:
            measure(f"local.yml: template edit visible after {time.monotonic() - start:.1f}s, no rebuild")
            return
        time.sleep(0.5)
    raise AssertionError("the edited template never showed up: is the code bind-mounted and autoreloading?")
