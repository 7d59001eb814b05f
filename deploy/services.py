"""`fab supervisor` and `fab systemd`: keep the deployed stack running with the article's supervisor, or systemd.

The default needs neither: Docker's restart policies and docker enabled at boot. These are for users
who want the stack under a process manager they already use. They start what `fab deploy` left: the
current release's app container and nginx (compose, --no-deps), never compose's own app service.
"""

import posixpath
from pathlib import Path
from shlex import quote

from deploy import commands, files
from deploy.bootstrap import Report, app_root, check_sudo, compose_kind
from deploy.config import DeployConfig
from deploy.errors import DeployError
from deploy.output import say, step
from deploy.remote import Remote
from deploy.switch import container

TEMPLATES = Path(__file__).with_name("templates")


def render(template: str, **values: object) -> str:
    return (TEMPLATES / template).read_text().format(**values)


def compose_env(settings: DeployConfig, current: str) -> dict[str, str]:
    """What `fab deploy` sets for compose (deploy/switch.py), minus the tag, which is read at start."""
    return {"MYSITE_ENV_FILE": f"{posixpath.dirname(current)}/shared/.envs/.production",
            "MYSITE_HTTP_ADDR": settings.http_addr, "MYSITE_HTTP_PORT": str(settings.http_port),
            "MYSITE_HTTPS_PORT": str(settings.https_port)}


def supervisor_program(settings: DeployConfig, *, user: str, home: str, current: str, compose: str,
                       log_dir: str) -> str:
    env = ",".join(f'{key}="{value}"' for key, value in compose_env(settings, current).items())
    return render("supervisor.ini", app_name=settings.app_name, compose=compose, current=current, user=user,
                  home=home, log_dir=log_dir, stop_wait=settings.stop_timeout + 10, env=env,
                  container_prefix=container(settings.project, ""))


def systemd_unit(settings: DeployConfig, *, user: str, home: str, current: str, compose: str) -> str:
    env = " ".join(f"{key}={value}" for key, value in compose_env(settings, current).items())
    return render("systemd.service", app_name=settings.app_name, compose=compose, current=current, user=user,
                  home=home, stop_timeout=settings.stop_timeout, env=env,
                  container_prefix=container(settings.project, ""))


def current_release(server: Remote, settings: DeployConfig, task: str) -> tuple[str, str]:
    """The current release's folder and the compose command line that fits the server."""
    current = f"{app_root(server, settings)}/current"
    with step("find the current release and compose"):
        if not server.probe(f"test -d {quote(current)}").ok:
            raise DeployError(f"no release is deployed yet ({current} is missing): run `fab deploy` first, "
                              f"then `fab {task}`")
        kind = compose_kind(server)
        if not kind:
            raise DeployError(f"neither `docker compose` nor `docker-compose` answers on {server.conn.host}: "
                              "run `fab bootstrap` first")
        compose = commands.compose([settings.compose_file], v2=kind == "v2", project=settings.project)
        say(f"    {current}: {compose}")
        return current, compose


def install_supervisor(server: Remote, settings: DeployConfig) -> None:
    """Install the article's supervisor program (the current release, nginx in the foreground), then reread + update."""
    report = Report(server.dry_run)
    home, user, name = server.home, server.conn.user, settings.app_name
    conf = f"{home}/etc/supervisord.conf"
    with step("find supervisor"):
        if server.probe(f"test -f {quote(conf)}").ok:  # the article's user-level supervisord
            path, log_dir, root = f"{home}/etc/supervisor/conf.d/{name}.ini", f"{home}/etc/supervisor/var/log", False
            ctl = f"supervisorctl -c {quote(conf)}"
        elif server.probe("test -d /etc/supervisor/conf.d").ok:
            path, log_dir, root = f"/etc/supervisor/conf.d/{name}.conf", "/var/log/supervisor", True
            ctl = "supervisorctl"
        else:
            raise DeployError(f"supervisor is not installed on {server.conn.host}: install it (`sudo apt-get install "
                              "supervisor`), or use `fab systemd`, or keep Docker's restart policies (the default)")
        say(f"    {'system supervisor' if root else 'user-level supervisord ' + conf}")
    if root:
        check_sudo(server)
    current, compose = current_release(server, settings, "supervisor")
    program = supervisor_program(settings, user=user, home=home, current=current, compose=compose, log_dir=log_dir)
    with step(f"install supervisor program {name}"):
        changed = files.ensure_file(server, path, program, sudo=root)
        if changed:
            (server.sudo if root else server.run)(
                f"{ctl} reread && {ctl} update",
                what=f"supervisor did not take the new program {path}; is supervisord running "
                     f"(`{'sudo systemctl start supervisor' if root else 'supervisord -c ' + conf}`)?")
        report.note(changed, f"supervisor program {name} in {path}")
    report.summary()


def install_systemd(server: Remote, settings: DeployConfig) -> None:
    """Install ``<app_name>.service`` (the current release started at boot, stopped at shutdown), reload, enable."""
    report = Report(server.dry_run)
    check_sudo(server)
    current, compose = current_release(server, settings, "systemd")
    unit_name = f"{settings.app_name}.service"
    path = f"/etc/systemd/system/{unit_name}"
    unit = systemd_unit(settings, user=server.conn.user, home=server.home, current=current, compose=compose)
    with step(f"install {unit_name}"):
        changed = files.ensure_file(server, path, unit, sudo=True)
        if changed:
            server.sudo("systemctl daemon-reload")
        report.note(changed, f"unit {path}")
        enabled = server.probe(f"systemctl is-enabled --quiet {quote(unit_name)}").ok
        if not enabled:
            server.sudo(f"systemctl enable {quote(unit_name)}")
        report.note(not enabled, f"{unit_name} enabled at boot")
        # Not started here: the running containers stay as the last deploy left them.
        say(f"    it starts the stack at boot; to start it now: sudo systemctl start {unit_name}")
    report.summary()
