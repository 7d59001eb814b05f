"""`fab supervisor` and `fab systemd`: keep the deployed stack running with the article's supervisor, or systemd.

The default needs neither: Docker's restart policies and docker enabled at boot. These are for users
who want the stack under a process manager they already use. They start what `fab deploy` left: the
current release's app container and nginx (compose, --no-deps), never compose's own app service.
"""

from deploy.commands import compose, shell, supervisor, system
from deploy.commands.services import supervisor_program, systemd_unit
from deploy.config import DeployConfig
from deploy.errors import DeployError
from deploy.files import ensure_file
from deploy.host import Host
from deploy.names import Names
from deploy.output import say, step
from deploy.preflight import check_sudo, compose_kind
from deploy.report import Report


def current_release(host: Host, names: Names, task: str) -> str:
    """The compose command line that fits the server, once a release is deployed."""
    with step("find the current release and compose"):
        if not host.probe(shell.is_dir(names.current)).ok:
            raise DeployError(f"no release is deployed yet ({names.current} is missing): run `fab deploy` first, "
                              f"then `fab {task}`")
        kind = compose_kind(host)
        if not kind:
            raise DeployError(f"neither `docker compose` nor `docker-compose` answers on {host.conn.host}: "
                              "run `fab bootstrap` first")
        command = compose.command(kind, [names.config.compose_file], project=names.project)
        say(f"    {names.current}: {command}")
        return command


def install_supervisor(host: Host, config: DeployConfig) -> None:
    """Install the article's supervisor program (the current release, nginx in the foreground), then reread + update."""
    report = Report(host.dry_run)
    home, user, name = host.home, host.conn.user, config.app_name
    names = Names.of(config, home)
    conf = f"{home}/etc/supervisord.conf"
    with step("find supervisor"):
        if host.probe(shell.is_file(conf)).ok:  # the article's user-level supervisord
            path, log_dir, root = f"{home}/etc/supervisor/conf.d/{name}.ini", f"{home}/etc/supervisor/var/log", False
            ctl = supervisor.ctl(conf)
        elif host.probe(shell.is_dir(supervisor.SYSTEM_CONF_D)).ok:
            path, log_dir, root = f"{supervisor.SYSTEM_CONF_D}/{name}.conf", "/var/log/supervisor", True
            ctl = supervisor.ctl()
        else:
            raise DeployError(f"supervisor is not installed on {host.conn.host}: install it (`sudo apt-get install "
                              "supervisor`), or use `fab systemd`, or keep Docker's restart policies (the default)")
        say(f"    {'system supervisor' if root else 'user-level supervisord ' + conf}")
    if root:
        check_sudo(host)
    command = current_release(host, names, "supervisor")
    program = supervisor_program(names, user=user, home=home, compose=command, log_dir=log_dir)
    with step(f"install supervisor program {name}"):
        changed = ensure_file(host, path, program, sudo=root)
        if changed:
            (host.sudo if root else host.run)(
                supervisor.update(ctl),
                what=f"supervisor did not take the new program {path}; is supervisord running "
                     f"(`{'sudo systemctl start supervisor' if root else 'supervisord -c ' + conf}`)?")
        report.note(changed, f"supervisor program {name} in {path}")
    report.summary()


def install_systemd(host: Host, config: DeployConfig) -> None:
    """Install ``<app_name>.service`` (the current release started at boot, stopped at shutdown), reload, enable."""
    report = Report(host.dry_run)
    check_sudo(host)
    names = Names.of(config, host.home)
    command = current_release(host, names, "systemd")
    path = f"/etc/systemd/system/{names.unit}"
    unit = systemd_unit(names, user=host.conn.user, home=host.home, compose=command)
    with step(f"install {names.unit}"):
        changed = ensure_file(host, path, unit, sudo=True)
        if changed:
            host.sudo(system.daemon_reload())
        report.note(changed, f"unit {path}")
        enabled = host.probe(system.is_enabled(names.unit)).ok
        if not enabled:
            host.sudo(system.enable(names.unit))
        report.note(not enabled, f"{names.unit} enabled at boot")
        # Not started here: the running containers stay as the last deploy left them.
        say(f"    it starts the stack at boot; to start it now: sudo systemctl start {names.unit}")
    report.summary()
