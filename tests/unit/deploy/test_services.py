"""`fab supervisor` / `fab systemd`: the rendered templates and the install sequences."""

import configparser

import pytest
from fabric import Connection
from fabric.testing.base import Command, MockRemote, Session

from deploy import config, services
from deploy.commands import compose, files, shell
from deploy.commands.services import supervisor_program, systemd_unit
from deploy.errors import DeployError
from deploy.host import Host
from deploy.names import Names

SETTINGS = config.load({}, {})
NAMES = Names.of(SETTINGS, "/home/deploy")
CURRENT = "/home/deploy/apps/mysite/current"
V1 = "docker-compose -p mysite -f production.yml"
V2 = "docker compose -p mysite -f production.yml"
HOME = Command('printf %s "$HOME"', out=b"/home/deploy")


def sudo(cmd, **kwargs):
    return Command(shell.sudo(cmd), **kwargs)


def test_supervisor_program_starts_the_deployed_container_and_runs_nginx_in_the_foreground():
    text = supervisor_program(NAMES, user="deploy", home="/home/deploy", compose=V1,
                                       log_dir="/home/deploy/etc/supervisor/var/log")
    assert text == (
        "; mysite: installed by `fab supervisor` -- keeps the stack up under supervisor, as the article does\n"
        "[program:mysite]\n"
        "; starts the current release's app container (the one `fab deploy` switched to) and runs nginx with "
        "compose\n"
        "; in the foreground; never compose's own app service, which would serve beside the deployed container\n"
        "command=/bin/sh -c 'tag=\"$(basename \"$(pwd -P)\")\"; docker start \"mysite-$tag\" >/dev/null && "
        "MYSITE_TAG=\"$tag\" exec docker-compose -p mysite -f production.yml up --no-deps nginx'\n"
        "directory=/home/deploy/apps/mysite/current\n"
        "autostart=true\n"
        "autorestart=unexpected\n"
        "user=deploy\n"
        'environment=HOME="/home/deploy",USER="deploy",'
        'MYSITE_ENV_FILE="/home/deploy/apps/mysite/shared/.envs/.production",'
        'MYSITE_NGINX_ENV_FILE="/home/deploy/apps/mysite/shared/.envs/.nginx",'
        'MYSITE_POSTGRES_ENV_FILE="/home/deploy/apps/mysite/shared/.envs/.postgres",'
        'MYSITE_LITESTREAM_ENV_FILE="/home/deploy/apps/mysite/shared/.envs/.production",MYSITE_HTTP_ADDR="0.0.0.0",'
        'MYSITE_HTTP_PORT="80",MYSITE_HTTPS_PORT="443",MYSITE_APP_WSGI="mysite.wsgi:application",'
        'MYSITE_APP_PORT="8000",MYSITE_APP_HEALTH_PATH="/healthz"\n'
        "; compose stops nginx gracefully on SIGINT, like Ctrl-C in a terminal\n"
        "stopsignal=INT\n"
        "stopwaitsecs=40\n"
        "stdout_logfile=/home/deploy/etc/supervisor/var/log/mysite-stdout.log\n"
        "stderr_logfile=/home/deploy/etc/supervisor/var/log/mysite-stderr.log\n")
    parsed = configparser.ConfigParser(interpolation=None)
    parsed.read_string(text)
    assert parsed["program:mysite"]["command"].endswith(f"exec {V1} up --no-deps nginx'")


def test_systemd_unit_starts_the_deployed_container_and_nginx_and_stops_both():
    blog = Names.of(config.load({"app_name": "blog", "stop_timeout": 20, "app_path": "/srv/blog"}, {}), "/home/deploy")
    text = systemd_unit(blog, user="deploy", home="/home/deploy", compose="docker compose -p blog -f production.yml")
    parsed = configparser.ConfigParser(interpolation=None, strict=True)
    parsed.optionxform = str
    parsed.read_string(text)
    service = parsed["Service"]
    assert (service["Type"], service["RemainAfterExit"], service["User"]) == ("oneshot", "yes", "deploy")
    assert service["WorkingDirectory"] == "/srv/blog/current"
    tag = """tag="$$(basename "$$(pwd -P)")";"""  # systemd expands $VAR itself: $$ is a literal $
    assert service["ExecStart"] == (
        f"""/bin/sh -c '{tag} docker start "blog-$$tag" >/dev/null && MYSITE_TAG="$$tag" exec """
        "docker compose -p blog -f production.yml up -d --no-deps nginx'")
    assert service["ExecStop"] == (
        f"""/bin/sh -c '{tag} MYSITE_TAG="$$tag" docker compose -p blog -f production.yml stop -t 20 nginx; """
        """exec docker stop -t 20 "blog-$$tag"'""")
    assert service["Environment"] == (
        "HOME=/home/deploy MYSITE_ENV_FILE=/srv/blog/shared/.envs/.production "
        "MYSITE_NGINX_ENV_FILE=/srv/blog/shared/.envs/.nginx MYSITE_POSTGRES_ENV_FILE=/srv/blog/shared/.envs/.postgres "
        "MYSITE_LITESTREAM_ENV_FILE=/srv/blog/shared/.envs/.production MYSITE_HTTP_ADDR=0.0.0.0 "
        "MYSITE_HTTP_PORT=80 MYSITE_HTTPS_PORT=443 MYSITE_APP_WSGI=mysite.wsgi:application MYSITE_APP_PORT=8000 "
        "MYSITE_APP_HEALTH_PATH=/healthz")
    assert parsed["Unit"]["Requires"] == "docker.service"
    assert parsed["Install"]["WantedBy"] == "multi-user.target"


def release_and_compose(kind=b"v2\n"):
    return [Command(f"test -d {CURRENT}"), Command(compose.detect(), out=kind)]


def test_install_systemd_writes_reloads_and_enables():
    unit = systemd_unit(NAMES, user="deploy", home="/home/deploy", compose=V2)
    with MockRemote() as mock:
        mock.expect_sessions(Session(commands=[
            Command(shell.sudo("true")), HOME, *release_and_compose(),
            Command(files.read_file("/etc/systemd/system/mysite.service"), exit=1),
            sudo(files.write_file("/etc/systemd/system/mysite.service", unit, 0o644)),
            sudo("systemctl daemon-reload"),
            Command("systemctl is-enabled --quiet mysite.service", exit=1),
            sudo("systemctl enable mysite.service"),
        ]))
        services.install_systemd(Host(Connection("deploy@srv.example")), SETTINGS)


def test_install_systemd_again_changes_nothing(capsys):
    unit = systemd_unit(NAMES, user="deploy", home="/home/deploy", compose=V2)
    with MockRemote() as mock:
        mock.expect_sessions(Session(commands=[
            Command(shell.sudo("true")), HOME, *release_and_compose(),
            Command(files.read_file("/etc/systemd/system/mysite.service"), out=unit.encode()),
            Command("systemctl is-enabled --quiet mysite.service"),
        ]))
        services.install_systemd(Host(Connection("deploy@srv.example")), SETTINGS)
    assert "nothing changed" in capsys.readouterr().out


def test_install_supervisor_uses_the_articles_user_level_supervisord():
    path = "/home/deploy/etc/supervisor/conf.d/mysite.ini"
    ctl = "supervisorctl -c /home/deploy/etc/supervisord.conf"
    program = supervisor_program(NAMES, user="deploy", home="/home/deploy", compose=V1,
                                          log_dir="/home/deploy/etc/supervisor/var/log")
    with MockRemote() as mock:
        mock.expect_sessions(Session(commands=[
            HOME, Command("test -f /home/deploy/etc/supervisord.conf"), *release_and_compose(b"v1\n"),
            Command(files.read_file(path), exit=1),
            Command(files.write_file(path, program, 0o644)),
            Command(f"{ctl} reread && {ctl} update"),
        ]))
        services.install_supervisor(Host(Connection("deploy@srv.example")), SETTINGS)


def test_install_supervisor_falls_back_to_the_system_supervisor_with_sudo():
    path = "/etc/supervisor/conf.d/mysite.conf"
    program = supervisor_program(NAMES, user="deploy", home="/home/deploy", compose=V2,
                                          log_dir="/var/log/supervisor")
    with MockRemote() as mock:
        mock.expect_sessions(Session(commands=[
            HOME, Command("test -f /home/deploy/etc/supervisord.conf", exit=1),
            Command("test -d /etc/supervisor/conf.d"), Command(shell.sudo("true")), *release_and_compose(),
            Command(files.read_file(path), exit=1),
            sudo(files.write_file(path, program, 0o644)),
            sudo("supervisorctl reread && supervisorctl update"),
        ]))
        services.install_supervisor(Host(Connection("deploy@srv.example")), SETTINGS)


def test_no_supervisor_is_one_line():
    with MockRemote() as mock:
        mock.expect_sessions(Session(commands=[
            HOME, Command("test -f /home/deploy/etc/supervisord.conf", exit=1),
            Command("test -d /etc/supervisor/conf.d", exit=1)]))
        with pytest.raises(DeployError, match="supervisor is not installed on srv.example: install it"):
            services.install_supervisor(Host(Connection("deploy@srv.example")), SETTINGS)


@pytest.mark.parametrize("present, kind, words", [
    (1, b"", "no release is deployed yet"),
    (0, b"", "run `fab bootstrap` first"),
])
def test_no_release_or_no_compose_is_refused_before_installing(present, kind, words):
    cmds = [Command(shell.sudo("true")), HOME, Command(f"test -d {CURRENT}", exit=present)]
    if not present:
        cmds.append(Command(compose.detect(), out=kind))
    with MockRemote() as mock:
        mock.expect_sessions(Session(commands=cmds))
        with pytest.raises(DeployError, match=words):
            services.install_systemd(Host(Connection("deploy@srv.example")), SETTINGS)
