"""deploy/commands/docker.py: the app contract (fabric.yaml's ``app:``) in the app's containers, by exact string."""

from deploy.commands import docker
from deploy.config import AppConfig, DeployConfig
from deploy.names import Names

REL = "20261201000000-abcdef0"
SHOP = Names.of(DeployConfig(app=AppConfig(name="shop", settings="shop.settings.prod", wsgi="shop.web:app",
                                           port=9000, health_path="/up"), app_path="/srv/shop"), "/home/deploy")


def test_an_app_container_is_told_the_settings_module_wsgi_port_and_health_path():
    assert docker.run_app(SHOP, REL) == (
        f"docker run -d --name shop-{REL} --network shop_default --network-alias shop-{REL} "
        "--env-file /srv/shop/shared/.envs/.production "
        '--env-file "$(test -f /srv/shop/shared/.envs/.https && echo /srv/shop/shared/.envs/.https || echo /dev/null)" '
        "-e MYSITE_MIGRATE_ON_START=0 -e MYSITE_SOCKET_DIR=/run/app-sockets "
        "-e DJANGO_SETTINGS_MODULE=shop.settings.prod "
        "-e MYSITE_APP_WSGI=shop.web:app -e MYSITE_APP_PORT=9000 -e MYSITE_APP_HEALTH_PATH=/up "
        "--restart unless-stopped -v shop_database:/app/database -v shop_static:/srv/static -v shop_media:/app/media "
        f"-v shop_sockets:/run/app-sockets --label shop.project=shop --label shop.release={REL} shop-django:{REL}")


def test_a_one_off_is_told_the_settings_module_only():
    assert docker.one_off(SHOP, REL, "python manage.py migrate --noinput", env_file="/e", network=True) == (
        "docker run --rm --network shop_default --env-file /e -e DJANGO_SETTINGS_MODULE=shop.settings.prod "
        f"-v shop_database:/app/database -v shop_media:/app/media shop-django:{REL} python manage.py migrate --noinput")


def test_values_are_quoted_for_the_shell():
    assert docker.variables({"A": "x y", "B": "~/z"}) == ["-e 'A=x y'", "-e 'B=~/z'"]
