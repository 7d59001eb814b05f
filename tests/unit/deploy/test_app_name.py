"""Two apps on one server: every name a deploy sends comes from its own ``app_name``, so neither touches the other's."""

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from fabric import Connection

from deploy import config, images, pipeline, releases, swarm_release
from deploy.commands import docker, swarm, warm
from deploy.commands.releases import read_current
from deploy.config import DeployConfig
from deploy.host import Host
from deploy.names import Names
from tests.harness.machine import SERVER, STRONG_KEY, Machine

BLOG_RELEASES = ["20261120000000-aaaaaaa", "20261121000000-bbbbbbb", "20261122000000-ccccccc"]
SHOP = DeployConfig(app_name="shop", app_path="apps/shop")
SHOP_RELEASES = ["20261123000000-ddddddd", "20261124000000-eeeeeee", "20261125000000-fffffff"]


class SharedServer:
    """One server's image tags and release folders, as `docker images REPO`, `ls -1` and `docker rmi` see them."""

    def __init__(self, images: dict[str, list[str]], folders: dict[str, list[str]]):
        self.images, self.folders = images, folders

    def probe(self, command: str) -> SimpleNamespace:
        if found := re.fullmatch(r"docker images (\S+) --format '\{\{\.Tag\}\}'", command):
            return SimpleNamespace(stdout="".join(f"{tag}\n" for tag in self.images.get(found[1], [])), ok=True)
        if found := re.fullmatch(r"ls -1 (\S+) 2>/dev/null \|\| true", command):
            return SimpleNamespace(stdout="".join(f"{name}\n" for name in self.folders.get(found[1], [])), ok=True)
        raise AssertionError(f"unexpected probe: {command}")

    def run(self, command: str, **kwargs) -> SimpleNamespace:
        found = re.fullmatch(r"rm -rf (\S+)/([^/\s]+); docker rmi (.+) >/dev/null 2>&1 \|\| true", command)
        if not found:
            raise AssertionError(f"unexpected command: {command}")
        folder, release, images = found.groups()
        if release in self.folders.get(folder, []):
            self.folders[folder].remove(release)
        for image in images.split():
            repo, _, tag = image.partition(":")
            if tag in self.images.get(repo, []):
                self.images[repo].remove(tag)
        return SimpleNamespace(stdout="", ok=True, failed=False)


def names(app: str) -> Names:
    return Names.of(DeployConfig(app_name=app, app_path=f"apps/{app}", keep_releases=1), "/home/deploy")


def test_pruning_one_app_leaves_the_other_apps_images_and_releases_alone():
    blog, shop = names("mysite"), names("shop")
    server = SharedServer(
        images={"mysite-django": list(BLOG_RELEASES), "mysite-nginx": list(BLOG_RELEASES),
                "shop-django": list(SHOP_RELEASES), "shop-nginx": list(SHOP_RELEASES)},
        folders={blog.releases: list(BLOG_RELEASES), shop.releases: list(SHOP_RELEASES)})
    pipeline.prune(server, shop, {SHOP_RELEASES[-1]})
    assert server.images["mysite-django"] == BLOG_RELEASES and server.images["mysite-nginx"] == BLOG_RELEASES
    assert server.folders[blog.releases] == BLOG_RELEASES
    assert server.images["shop-django"] == SHOP_RELEASES[-1:] and server.folders[shop.releases] == SHOP_RELEASES[-1:]
    pipeline.prune(server, blog, {BLOG_RELEASES[-1]})
    assert server.images["mysite-django"] == BLOG_RELEASES[-1:] and server.images["shop-django"] == SHOP_RELEASES[-1:]


@pytest.fixture
def machine(monkeypatch, tmp_path) -> Machine:
    return Machine(monkeypatch, tmp_path)


def test_a_deploy_of_another_app_sends_no_name_of_the_blog(machine):
    """`mysite` (lower case) is the blog's app name; MYSITE_* variables are the toolkit's and may appear."""
    shop, previous = Names.of(SHOP, "/home/deploy"), SHOP_RELEASES[0]
    machine.answers.update({  # a redeploy: the previous release serves, so its container is stopped and kept warm
        read_current(shop): f"releases/{previous}\n",
        docker.app_containers(shop.project): f"{shop.container(previous)} Up 1 hour\n",
        warm.listing(shop.project): f"/{shop.container(previous)} unless-stopped 2026-11-23T00:00:00Z\n"})
    pipeline.deploy(Host(Connection(SERVER)), SHOP, allow_unsafe_migrations=True)
    sent = [line for line in machine.remote if line.startswith(("run: ", "sudo: ", "put: "))]
    assert any(line.startswith(f"run: {warm.expire(shop, shop.container(previous), 600)}") for line in sent), sent
    assert [line for line in sent if "mysite" in line] == []


def test_a_swarm_deploy_of_another_app_sends_no_name_of_the_blog(machine, monkeypatch):
    """The images are built and shipped elsewhere (deploy.images, its own tests): here, what the cluster is sent."""
    shop, release = Names.of(SHOP, "/home/deploy"), SHOP_RELEASES[1]
    (machine.project / ".envs/.production").write_text(
        f"DJANGO_SECRET_KEY={STRONG_KEY}\nDJANGO_ALLOWED_HOSTS=shop.example\n"
        "DATABASE_URL=postgres://shop:pw@postgres:5432/shop\nPOSTGRES_USER=shop\nPOSTGRES_PASSWORD=pw\n"
        "POSTGRES_DB=shop\n")
    built = images.Built(release, {shop.app_image(release): "sha256:" + "a" * 64,
                                   shop.nginx_image(release): "sha256:" + "b" * 64}, {})
    monkeypatch.setattr(releases, "name", lambda sha, now=None: release)
    monkeypatch.setattr(releases, "export", lambda sha, tree, cwd=None: Path(tree, "swarm.yml").write_text("{}\n"))
    monkeypatch.setattr(images, "local_architecture", lambda local: "x86_64")
    monkeypatch.setattr(images, "check_tunnel", lambda host: None)
    monkeypatch.setattr(images, "check_disk", lambda host, built: None)
    monkeypatch.setattr(images, "build_here", lambda *args: built)
    monkeypatch.setattr(images, "ship", lambda hosts, local, built: None)
    machine.answers.update({
        swarm.state(): "active node1 true\n",
        # the app service runs the new release at once: the rollout converges on the first look
        swarm.service_image(shop, shop.alias): f"{shop.app_image(release)}\n",
        swarm.task_container(shop, swarm.POSTGRES_SERVICE): "c0ffee\n",  # the backup's pg_dump runs in it
        swarm.job_state(shop.scoped(f"migrate_{release.replace('-', '_')}")): "Complete 2 seconds ago\n",
        swarm.update_state(shop): "completed\n"})
    swarm_release.deploy([Host(Connection(SERVER))], SHOP, allow_unsafe_migrations=True)
    sent = [line for line in machine.remote if line.startswith(("run: ", "sudo: ", "put: "))]
    assert any("docker stack deploy" in line and line.endswith(" shop >/dev/null") for line in sent), sent
    assert [line for line in sent if "mysite" in line] == []


def test_an_app_without_its_own_app_path_gets_a_folder_of_its_own():
    assert config.load({"app_name": "shop"}, {}).app_path == "apps/shop"
    assert config.load({}, {"MYSITE_APP_NAME": "shop"}).app_path == "apps/shop"
    assert config.load({"app_name": "shop", "app_path": "/srv/shop"}, {}).app_path == "/srv/shop"
    assert config.load({}, {}).app_path == "apps/mysite"
