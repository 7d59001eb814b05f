"""Two apps on one server: every name a deploy sends comes from its own ``app_name``, so neither touches the other's."""

import re
from pathlib import Path
from shlex import quote
from types import SimpleNamespace

import pytest
from fabric import Connection

from deploy import config, images, pipeline, releases, swarm_release
from deploy.commands import docker, swarm, warm
from deploy.commands.releases import read_current
from deploy.config import AppConfig, DeployConfig
from deploy.errors import DeployError
from deploy.host import Host
from deploy.names import Names
from deploy.scripts import SOURCES
from tests.harness.machine import SERVER, STRONG_KEY, Machine

BLOG_RELEASES = ["20261120000000-aaaaaaa", "20261121000000-bbbbbbb", "20261122000000-ccccccc"]
SHOP = DeployConfig(app=AppConfig(name="shop", settings="shop.settings.production", wsgi="shop.wsgi:application"),
                    app_path="apps/shop")
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
    return Names.of(DeployConfig(app=AppConfig(name=app), app_path=f"apps/{app}", keep_releases=1), "/home/deploy")


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


def deploy(machine, config: DeployConfig) -> list[str]:
    """A redeploy of ``config`` to a fake server where its previous release serves: the commands sent."""
    shop, previous = Names.of(config, "/home/deploy"), SHOP_RELEASES[0]
    machine.answers.update({  # the previous release serves, so its container is stopped and kept warm
        read_current(shop): f"releases/{previous}\n",
        docker.app_containers(shop.project): f"{shop.container(previous)} Up 1 hour\n",
        warm.listing(shop.project): f"/{shop.container(previous)} unless-stopped 2026-11-23T00:00:00Z\n"})
    pipeline.deploy(Host(Connection(SERVER)), config, allow_unsafe_migrations=True)
    sent = [line for line in machine.remote if line.startswith(("run: ", "sudo: ", "put: "))]
    assert any(line.startswith(f"run: {warm.expire(shop, shop.container(previous), 600)}") for line in sent), sent
    return sent


def test_a_deploy_of_another_app_sends_no_name_of_the_blog(machine):
    """`mysite` (lower case) is the blog's app name; MYSITE_* variables are the toolkit's and may appear."""
    assert [line for line in deploy(machine, SHOP) if "mysite" in line] == []


def swarm_deploy(machine, monkeypatch, config: DeployConfig) -> list[str]:
    """A swarm deploy of ``config`` to a fake cluster: the commands sent. The images are built and shipped
    elsewhere (deploy.images, its own tests): here, what the cluster is sent."""
    shop, release = Names.of(config, "/home/deploy"), SHOP_RELEASES[1]
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
    swarm_release.deploy([Host(Connection(SERVER))], config, allow_unsafe_migrations=True)
    return [line for line in machine.remote if line.startswith(("run: ", "sudo: ", "put: "))]


def test_a_swarm_deploy_of_another_app_sends_no_name_of_the_blog(machine, monkeypatch):
    sent = swarm_deploy(machine, monkeypatch, SHOP)
    assert any("docker stack deploy" in line and line.endswith(" shop >/dev/null") for line in sent), sent
    assert [line for line in sent if "mysite" in line] == []


CONTRACT = DeployConfig(app=AppConfig(name="shop", settings="shop.settings.prod", wsgi="shop.wsgi:application",
                                      port=9000, health_path="/up"), app_path="apps/shop")
BLOG_CONTRACT = re.compile(r"(?<!\d)8000(?!\d)|/healthz|mysite\.settings|mysite\.wsgi")


def without_scripts(line: str) -> str:
    """The line with each program of deploy/scripts it ships replaced by its name: their texts are the toolkit's
    code (examples in docstrings, a default), the same for every app; their arguments stay."""
    for name, text in SOURCES.items():
        line = line.replace(quote(text), f"<{name}.py>")
    return line


def test_a_deploy_tells_the_app_its_contract_and_nothing_of_the_blogs(machine):
    """fabric.yaml's app: port 9000, health path /up, settings shop.settings.prod: the app container is told
    them, the probe asks them, nginx is given the port; the blog's 8000, /healthz, mysite.settings never appear."""
    sent = [without_scripts(line) for line in deploy(machine, CONTRACT)]
    assert [line for line in sent if BLOG_CONTRACT.search(line)] == []
    run_app = [line for line in sent if "docker run -d --name shop-" in line]
    assert run_app and all("-e DJANGO_SETTINGS_MODULE=shop.settings.prod -e MYSITE_APP_WSGI=shop.wsgi:application "
                           "-e MYSITE_APP_PORT=9000 -e MYSITE_APP_HEALTH_PATH=/up " in line for line in run_app)
    assert any("<probe.py> http://127.0.0.1:9000 example.com /up;" in line for line in sent), sent
    assert any("<probe.py> unix:/run/nginx-checks.sock example.com /up;" in line for line in sent), sent
    nginx = [line for line in sent if "up -d --no-deps" in line and "nginx" in line]
    assert nginx and all(" MYSITE_APP_PORT=9000 " in line for line in nginx), nginx


def test_a_swarm_deploy_tells_the_app_its_contract_and_nothing_of_the_blogs(machine, monkeypatch):
    sent = [without_scripts(line) for line in swarm_deploy(machine, monkeypatch, CONTRACT)]
    assert [line for line in sent if BLOG_CONTRACT.search(line)] == []
    stack = [line for line in sent if "docker stack deploy" in line]
    assert stack and all("MYSITE_APP_SETTINGS=shop.settings.prod" in line and "MYSITE_APP_PORT=9000" in line
                         and "MYSITE_APP_HEALTH_PATH=/up" in line for line in stack), stack
    jobs = [line for line in sent if "--mode replicated-job" in line]
    assert jobs and all("--env DJANGO_SETTINGS_MODULE=shop.settings.prod " in line for line in jobs), jobs


def test_an_app_without_its_own_app_path_gets_a_folder_of_its_own():
    assert config.load({"app_name": "shop"}, {}).app_path == "apps/shop"
    assert config.load({}, {"MYSITE_APP_NAME": "shop"}).app_path == "apps/shop"
    assert config.load({"app_name": "shop", "app_path": "/srv/shop"}, {}).app_path == "/srv/shop"
    assert config.load({}, {}).app_path == "apps/mysite"


def test_an_env_file_that_names_another_settings_module_stops_the_deploy_before_anything_changes(machine):
    env = machine.project / ".envs/.production"
    env.write_text(env.read_text() + "DJANGO_SETTINGS_MODULE=mysite.settings.production\n")
    with pytest.raises(DeployError, match="DJANGO_SETTINGS_MODULE=mysite.settings.production but fabric.yaml's app "
                                          "settings is shop.settings.prod"):
        pipeline.deploy(Host(Connection(SERVER)), CONTRACT, allow_unsafe_migrations=True)
    assert [line for line in machine.remote if line.startswith(("run: ", "sudo: ", "put: "))] == []
