"""`fab migrate-legacy`: the article's "stop the old services", only where they exist, with an undo.

The article ran the blog on the host: nginx on :80 in front of gunicorn under a supervisor program
(a user-level `supervisord -c ~/etc/supervisord.conf`). The containers need ports 80 and 443.
"""

from shlex import quote

from deploy import commands
from deploy.bootstrap import Report, check_sudo
from deploy.config import DeployConfig
from deploy.errors import DeployError
from deploy.output import say, step
from deploy.remote import Remote

DISABLED = ".disabled-by-mysite"
# `fab supervisor` marks its own program file; that one runs the containers and must stay.
OURS = "installed by `fab supervisor`"


def _root_probe(server: Remote, command: str):
    """A read-only root command: real even in dry-run, never raises."""
    if server.has_sudo_password:
        return server.sudo(command, warn=True)
    return server.probe(commands.sudo(command))


def stop_host_nginx(server: Remote, report: Report, undo: list[str]) -> None:
    with step("stop the host nginx"):
        active = server.probe("systemctl is-active --quiet nginx").ok
        enabled = server.probe("systemctl is-enabled --quiet nginx").ok
        if enabled:
            server.sudo("systemctl disable --now nginx")
        elif active:
            server.sudo("systemctl stop nginx")
        if active or enabled:
            report.note(True, f"host nginx {'stopped' if active else 'was not running'}"
                              f"{' and disabled at boot' if enabled else ''}")
            undo.append("sudo systemctl enable --now nginx")
        else:
            report.note(False, "no host nginx running or enabled")


def _program_files(server: Remote, name: str, pattern: str, root: bool) -> list[str]:
    find = f"grep -lxF -- {quote(f'[program:{name}]')} {pattern} 2>/dev/null || true"
    found = _root_probe(server, find) if root else server.probe(find)
    return found.stdout.split()


def _stop_program(server: Remote, report: Report, undo: list[str], *, name: str, ctl: str, files_glob: str,
                  root: bool, where: str) -> None:
    """Stop the program, then move its file aside so supervisord never starts it again."""
    run = server.sudo if root else server.run
    status = (_root_probe(server, f"{ctl} status {quote(name)}") if root
              else server.probe(f"{ctl} status {quote(name)}"))
    programs = [path for path in _program_files(server, name, files_glob, root)
                if not (_root_probe(server, f"grep -qF {quote(OURS)} {quote(path)}") if root
                        else server.probe(f"grep -qF {quote(OURS)} {quote(path)}")).ok]
    if "RUNNING" in status.stdout:
        run(f"{ctl} stop {quote(name)}")
        report.note(True, f"{where} program {name} stopped")
        undo.append(f"{'sudo ' if root else ''}{ctl} start {name}")
    else:
        report.note(False, f"{where} program {name} is not running")
    for path in programs:
        # supervisord only reads the files its [include] glob matches: a new suffix takes it out for good
        run(f"mv -- {quote(path)} {quote(path + DISABLED)}")
        run(f"{ctl} reread && {ctl} update", warn=True)  # fails harmlessly when supervisord is down
        report.note(True, f"{path} renamed to *{DISABLED}, so {where} supervisord will not start it again")
        undo.insert(0, f"{'sudo ' if root else ''}mv {path + DISABLED} {path} && "
                       f"{'sudo ' if root else ''}{ctl} update")


def stop_supervisor_programs(server: Remote, settings: DeployConfig, report: Report, undo: list[str]) -> None:
    name = settings.app_name
    with step(f"stop the old supervisor program {name}"):
        conf = f"{server.home}/etc/supervisord.conf"
        if server.probe(f"test -f {quote(conf)}").ok:
            _stop_program(server, report, undo, name=name, ctl=f"supervisorctl -c {quote(conf)}",
                          files_glob=f"{quote(server.home)}/etc/supervisor/conf.d/*.ini", root=False,
                          where="user-level (~/etc/supervisord.conf)")
            say("    the user-level supervisord itself keeps running: `fab supervisor` can reuse it")
        else:
            report.note(False, "no user-level supervisord (~/etc/supervisord.conf)")
        if server.probe("test -d /etc/supervisor && command -v supervisorctl >/dev/null").ok:
            _stop_program(server, report, undo, name=name, ctl="supervisorctl",
                          files_glob="/etc/supervisor/conf.d/*.conf", root=True, where="system")
        else:
            report.note(False, "no system supervisor")


def check_ports_free(server: Remote, settings: DeployConfig) -> list[str]:
    """Return the problems: a port still held by anything but Docker's own proxy."""
    problems = []
    with step(f"check ports {settings.http_port} and {settings.https_port}"):
        for port in (settings.http_port, settings.https_port):
            listeners = _root_probe(server, f"ss -ltnpH 'sport = :{port}'").stdout.strip()
            if not listeners:
                say(f"    port {port} is free")
            elif "docker-proxy" in listeners:
                say(f"    port {port} is already published by Docker (the containers)")
            else:
                holder = listeners.split("users:", 1)[-1].strip() if "users:" in listeners else listeners
                problems.append(f"port {port} is still in use by {holder}")
    return problems


def migrate_legacy(server: Remote, settings: DeployConfig) -> None:
    """Stop the host nginx and the old supervisor program, where they exist; print how to undo it."""
    report = Report(server.dry_run)
    undo: list[str] = []
    check_sudo(server)
    stop_host_nginx(server, report, undo)
    stop_supervisor_programs(server, settings, report, undo)
    problems = check_ports_free(server, settings)
    report.summary(undo)
    if problems:
        raise DeployError(f"{'; '.join(problems)}: stop that service on the server (`sudo ss -ltnp` shows it), "
                          "then run `fab migrate-legacy` again")
