"""`fab migrate-legacy`: the article's "stop the old services", only where they exist, with an undo.

The article ran the blog on the host: nginx on :80 in front of gunicorn under a supervisor program
(a user-level `supervisord -c ~/etc/supervisord.conf`). The containers need ports 80 and 443.
"""

import functools

from deploy.commands import files, shell, supervisor, system
from deploy.config import DeployConfig
from deploy.errors import DeployError
from deploy.host import Host
from deploy.names import TOOLKIT, Names
from deploy.output import say, step
from deploy.preflight import check_sudo, port_holders, root_probe
from deploy.report import Report

DISABLED = f".disabled-by-{TOOLKIT}"
# `fab supervisor` marks its own program file; that one runs the containers and must stay.
OURS = "installed by `fab supervisor`"


def stop_host_nginx(host: Host, report: Report, undo: list[str]) -> None:
    with step("stop the host nginx"):
        active = host.probe(system.is_active("nginx")).ok
        enabled = host.probe(system.is_enabled("nginx")).ok
        if enabled:
            host.sudo(system.disable_now("nginx"))
        elif active:
            host.sudo(system.stop("nginx"))
        if active or enabled:
            report.note(True, f"host nginx {'stopped' if active else 'was not running'}"
                              f"{' and disabled at boot' if enabled else ''}")
            undo.append("sudo systemctl enable --now nginx")
        else:
            report.note(False, "no host nginx running or enabled")


def _as(host: Host, root: bool):
    """Read-only probes as root (real even in dry-run) or as the user."""
    return functools.partial(root_probe, host) if root else host.probe


def _stop_program(host: Host, report: Report, undo: list[str], *, name: str, ctl: str, files_glob: str,
                  root: bool, where: str) -> None:
    """Stop the program, then move its file aside so supervisord never starts it again."""
    run, probe = host.sudo if root else host.run, _as(host, root)
    status = probe(supervisor.status(ctl, name))
    programs = [path for path in probe(supervisor.program_files(name, files_glob)).stdout.split()
                if not probe(files.has_text(path, OURS)).ok]
    if "RUNNING" in status.stdout:
        run(supervisor.stop(ctl, name))
        report.note(True, f"{where} program {name} stopped")
        undo.append(f"{'sudo ' if root else ''}{ctl} start {name}")
    else:
        report.note(False, f"{where} program {name} is not running")
    for path in programs:
        # supervisord only reads the files its [include] glob matches: a new suffix takes it out for good
        run(files.move(path, path + DISABLED))
        run(supervisor.update(ctl), warn=True)  # fails harmlessly when supervisord is down
        report.note(True, f"{path} renamed to *{DISABLED}, so {where} supervisord will not start it again")
        undo.insert(0, f"{'sudo ' if root else ''}mv {path + DISABLED} {path} && "
                       f"{'sudo ' if root else ''}{ctl} update")


def stop_supervisor_programs(host: Host, config: DeployConfig, report: Report, undo: list[str]) -> None:
    name = config.app_name
    with step(f"stop the old supervisor program {name}"):
        conf = f"{host.home}/etc/supervisord.conf"
        if host.probe(shell.is_file(conf)).ok:
            _stop_program(host, report, undo, name=name, ctl=supervisor.ctl(conf),
                          files_glob=supervisor.user_programs(host.home), root=False,
                          where="user-level (~/etc/supervisord.conf)")
            say("    the user-level supervisord itself keeps running: `fab supervisor` can reuse it")
        else:
            report.note(False, "no user-level supervisord (~/etc/supervisord.conf)")
        if host.probe(supervisor.system_installed()).ok:
            _stop_program(host, report, undo, name=name, ctl=supervisor.ctl(),
                          files_glob=supervisor.system_programs(), root=True, where="system")
        else:
            report.note(False, "no system supervisor")


def check_ports_free(host: Host, config: DeployConfig) -> list[str]:
    """Return the problems: a port still held by anything but this site's nginx."""
    problems = []
    names = Names.of(config, host.home)
    with step(f"check ports {config.http_port} and {config.https_port}"):
        for port in (config.http_port, config.https_port):
            holders = port_holders(host, names, port)
            if holders:
                problems.append(f"port {port} is still in use by {' and '.join(holders)}")
            else:
                say(f"    port {port} is free for this site's nginx")
    return problems


def migrate_legacy(host: Host, config: DeployConfig) -> None:
    """Stop the host nginx and the old supervisor program, where they exist; print how to undo it."""
    report = Report(host.dry_run)
    undo: list[str] = []
    check_sudo(host)
    stop_host_nginx(host, report, undo)
    stop_supervisor_programs(host, config, report, undo)
    problems = check_ports_free(host, config)
    report.summary(undo)
    if problems:
        raise DeployError(f"{'; '.join(problems)}: stop that service on the server (`sudo ss -ltnp` shows it), "
                          "then run `fab migrate-legacy` again")
