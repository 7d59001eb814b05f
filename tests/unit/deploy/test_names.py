"""The naming contract in one table: every name and path a deploy uses (docs/ARCHITECTURE.md)."""

import re
from pathlib import Path

import pytest

from deploy.config import AppConfig, DeployConfig
from deploy.names import Names

REL = "20261124100509-bbbbbbb"
N = Names.of(DeployConfig(), "/home/deploy")


@pytest.mark.parametrize(("name", "expected"), [
    (N.root, "/home/deploy/apps/mysite"),
    (N.releases, "/home/deploy/apps/mysite/releases"),
    (N.release(REL), f"/home/deploy/apps/mysite/releases/{REL}"),
    (N.upload(REL), f"/home/deploy/apps/mysite/releases/.{REL}.tar"),
    (N.current, "/home/deploy/apps/mysite/current"),
    (N.shared, "/home/deploy/apps/mysite/shared"),
    (N.envs, "/home/deploy/apps/mysite/shared/.envs"),
    (N.env_file, "/home/deploy/apps/mysite/shared/.envs/.production"),
    (N.https_env, "/home/deploy/apps/mysite/shared/.envs/.https"),
    (N.nginx_env, "/home/deploy/apps/mysite/shared/.envs/.nginx"),
    (N.postgres_env, "/home/deploy/apps/mysite/shared/.envs/.postgres"),
    (N.litestream_env, "/home/deploy/apps/mysite/shared/.envs/.litestream"),
    (N.litestream_config, "/home/deploy/apps/mysite/shared/litestream.yml"),
    (N.ca_bundle, "/home/deploy/apps/mysite/shared/acme-ca.pem"),
    (N.backups, "/home/deploy/apps/mysite/backups"),
    (N.lock, "/home/deploy/apps/mysite/.deploy.lock"),
    (N.audit, "/home/deploy/apps/mysite/audit.log"),
    (N.project, "mysite"),
    (N.network, "mysite_default"),
    (N.volume("database"), "mysite_database"),
    (N.container(REL), f"mysite-{REL}"),
    (N.one_off("certbot-renew"), "mysite-certbot-renew"),
    (N.default_nginx, "mysite-nginx"),
    (N.app_image(REL), f"mysite-django:{REL}"),
    (N.nginx_image(REL), f"mysite-nginx:{REL}"),
    (N.unit, "mysite.service"),
])
def test_every_name_of_the_contract(name, expected):
    assert name == expected


def test_app_container_mounts_match_production_yml():
    assert N.mounts() == ["-v mysite_database:/app/database", "-v mysite_static:/srv/static",
                          "-v mysite_media:/app/media", "-v mysite_sockets:/run/app-sockets"]


def test_compose_environment_with_and_without_a_release():
    assert N.compose_env(REL) == {
        "MYSITE_TAG": REL, "MYSITE_ENV_FILE": "/home/deploy/apps/mysite/shared/.envs/.production",
        "MYSITE_NGINX_ENV_FILE": "/home/deploy/apps/mysite/shared/.envs/.nginx",
        "MYSITE_POSTGRES_ENV_FILE": "/home/deploy/apps/mysite/shared/.envs/.postgres",
        "MYSITE_LITESTREAM_ENV_FILE": "/home/deploy/apps/mysite/shared/.envs/.production",
        "MYSITE_HTTP_ADDR": "0.0.0.0", "MYSITE_HTTP_PORT": "80", "MYSITE_HTTPS_PORT": "443",  # noqa: S104 - the default
        "MYSITE_APP_WSGI": "mysite.wsgi:application", "MYSITE_APP_PORT": "8000", "MYSITE_APP_HEALTH_PATH": "/healthz"}
    assert "MYSITE_TAG" not in N.compose_env()


@pytest.mark.parametrize(("app_path", "root"), [
    ("apps/mysite", "/home/deploy/apps/mysite"),
    ("apps/mysite/", "/home/deploy/apps/mysite"),
    ("/srv/blog", "/srv/blog"),
])
def test_app_path_is_made_absolute_under_the_home(app_path, root):
    assert Names.of(DeployConfig(app_path=app_path), "/home/deploy").root == root


def test_the_app_name_prefixes_every_docker_name():
    names = Names.of(DeployConfig(app=AppConfig(name="blog2")), "/home/ann")
    assert (names.project, names.network, names.volume("media"), names.container(REL), names.unit) == (
        "blog2", "blog2_default", "blog2_media", f"blog2-{REL}", "blog2.service")


def test_the_app_contract_as_the_containers_compose_and_the_stack_read_it():
    shop = Names.of(DeployConfig(app=AppConfig(name="shop", settings="shop.settings.prod", wsgi="shop.web:app",
                                               port=9000, health_path="/up")), "/home/deploy")
    contract = {"MYSITE_APP_WSGI": "shop.web:app", "MYSITE_APP_PORT": "9000", "MYSITE_APP_HEALTH_PATH": "/up"}
    assert shop.container_env == {"DJANGO_SETTINGS_MODULE": "shop.settings.prod", **contract}
    assert shop.stack_app_env == {"MYSITE_APP_SETTINGS": "shop.settings.prod", **contract}
    assert {key: shop.compose_env()[key] for key in contract} == contract
    assert "DJANGO_SETTINGS_MODULE" not in shop.compose_env()  # production.yml's app keeps the image's (or env file's)


def test_the_stack_files_read_the_app_contract_by_the_names_the_engine_gives():
    root = Path(__file__).resolve().parents[3]
    production = set(re.findall(r"\$\{(MYSITE_APP_\w+):-", (root / "production.yml").read_text()))
    swarm = set(re.findall(r"\$\{(MYSITE_APP_\w+):-", (root / "swarm.yml").read_text()))
    names = Names.of(DeployConfig(), "/home/deploy")
    assert production == {"MYSITE_APP_WSGI", "MYSITE_APP_PORT", "MYSITE_APP_HEALTH_PATH"}
    assert production <= set(names.compose_env())
    assert swarm == set(names.stack_app_env)
