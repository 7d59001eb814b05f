"""`fab migrate-legacy`: stop only what exists, keep our own program, report and print the undo."""

import pytest
from fabric import Connection
from fabric.testing.base import Command, MockRemote, Session

from deploy import config, legacy
from deploy.commands import shell, system
from deploy.errors import DeployError
from deploy.host import Host

SETTINGS = config.load({}, {})
CTL = "supervisorctl -c /home/deploy/etc/supervisord.conf"
INI = "/home/deploy/etc/supervisor/conf.d/mysite.ini"
FIND_USER = "grep -lxF -- '[program:mysite]' /home/deploy/etc/supervisor/conf.d/*.ini 2>/dev/null || true"
FIND_SYSTEM = "grep -lxF -- '[program:mysite]' /etc/supervisor/conf.d/*.conf 2>/dev/null || true"
OURS = "grep -qF 'installed by `fab supervisor`' "


def sudo(cmd, **kwargs):
    return Command(shell.sudo(cmd), **kwargs)


def ports(listening80=b"", listening443=b""):
    return [sudo(system.port_holders(80), out=listening80), sudo(system.port_holders(443), out=listening443)]


def no_system_supervisor():
    return [Command("test -d /etc/supervisor && command -v supervisorctl >/dev/null")]


def run_migrate(cmds):
    with MockRemote() as mock:
        mock.expect_sessions(Session(commands=cmds))
        legacy.migrate_legacy(Host(Connection("deploy@srv.example")), SETTINGS)


def test_the_articles_legacy_stack_is_stopped_and_disabled(capsys):
    run_migrate([
        Command(shell.sudo("true")),
        Command("systemctl is-active --quiet nginx"), Command("systemctl is-enabled --quiet nginx"),
        sudo("systemctl disable --now nginx"),
        Command('printf %s "$HOME"', out=b"/home/deploy"),
        Command("test -f /home/deploy/etc/supervisord.conf"),
        Command(f"{CTL} status mysite", out=b"mysite                           RUNNING   pid 41, uptime 0:03:01\n"),
        Command(FIND_USER, out=f"{INI}\n".encode()),
        Command(OURS + INI, exit=1),
        Command(f"{CTL} stop mysite"),
        Command(f"mv -- {INI} {INI}.disabled-by-mysite"),
        Command(f"{CTL} reread && {CTL} update"),
        *no_system_supervisor(),
        sudo("supervisorctl status mysite", out=b"mysite: ERROR (no such process)\n", exit=4),
        sudo(FIND_SYSTEM),
        *ports(),
    ])
    out = capsys.readouterr().out
    assert "changed: host nginx stopped and disabled at boot" in out
    assert "changed: user-level (~/etc/supervisord.conf) program mysite stopped" in out
    assert "already in place: system program mysite is not running" in out
    assert "port 80 is free" in out and "port 443 is free" in out
    assert f"undo: mv {INI}.disabled-by-mysite {INI} && {CTL} update" in out
    assert "undo: sudo systemctl enable --now nginx" in out


def test_second_run_finds_nothing_to_stop(capsys):
    run_migrate([
        Command(shell.sudo("true")),
        Command("systemctl is-active --quiet nginx", exit=3), Command("systemctl is-enabled --quiet nginx", exit=1),
        Command('printf %s "$HOME"', out=b"/home/deploy"),
        Command("test -f /home/deploy/etc/supervisord.conf"),
        Command(f"{CTL} status mysite", out=b"mysite: ERROR (no such process)\n", exit=4),
        Command(FIND_USER),
        Command("test -d /etc/supervisor && command -v supervisorctl >/dev/null", exit=1),
        *ports(),
    ])
    out = capsys.readouterr().out
    assert "nothing changed: everything was already in place" in out and "undo:" not in out


def test_our_own_supervisor_program_is_never_disabled():
    run_migrate([
        Command(shell.sudo("true")),
        Command("systemctl is-active --quiet nginx", exit=3), Command("systemctl is-enabled --quiet nginx", exit=4),
        Command('printf %s "$HOME"', out=b"/home/deploy"),
        Command("test -f /home/deploy/etc/supervisord.conf"),
        Command(f"{CTL} status mysite", out=b"mysite RUNNING pid 7\n"),
        Command(FIND_USER, out=f"{INI}\n".encode()),
        Command(OURS + INI),  # the file is ours: the docker stack
        Command(f"{CTL} stop mysite"),
        Command("test -d /etc/supervisor && command -v supervisorctl >/dev/null", exit=1),
        *ports(b"LISTEN 0 4096 0.0.0.0:80 0.0.0.0:* users:((\"docker-proxy\",pid=9,fd=4))\n"),
    ])


def test_a_port_still_taken_by_something_else_is_one_line():
    with pytest.raises(DeployError) as info:
        run_migrate([
            Command(shell.sudo("true")),
            Command("systemctl is-active --quiet nginx", exit=3), Command("systemctl is-enabled --quiet nginx", exit=1),
            Command('printf %s "$HOME"', out=b"/home/deploy"),
            Command("test -f /home/deploy/etc/supervisord.conf", exit=1),
            Command("test -d /etc/supervisor && command -v supervisorctl >/dev/null", exit=1),
            *ports(b'LISTEN 0 511 0.0.0.0:80 0.0.0.0:* users:(("apache2",pid=812,fd=4))\n'),
        ])
    assert str(info.value) == (
        "port 80 is still in use by apache2 (pid 812): stop that service on the server "
        "(`sudo ss -ltnp` shows it), then run `fab migrate-legacy` again")


def test_no_sudo_changes_nothing():
    with pytest.raises(DeployError, match="has no passwordless sudo"):
        run_migrate([Command(shell.sudo("true"), exit=1)])


def test_a_port_held_by_this_sites_nginx_on_the_hosts_network_is_free_for_it():
    ours = ('host-network mysite-nginx-2 mysite/nginx\n'
            'LISTEN 0 511 0.0.0.0:80 0.0.0.0:* users:(("nginx",pid=7,fd=6),("nginx",pid=1,fd=6))\n')
    assert system.parse_port_holders(ours, ours="mysite/nginx") == []
    assert system.parse_port_holders(ours.split("\n", 1)[1], ours="mysite/nginx") == ["nginx (pid 7, 1)"]
    # another site's nginx on the host's network, or another process beside ours, is named
    other = ours.replace("mysite/nginx", "shop/nginx")
    assert system.parse_port_holders(other, ours="mysite/nginx") == ["nginx (pid 7, 1)"]
    beside = ours + 'LISTEN 0 511 0.0.0.0:80 0.0.0.0:* users:(("caddy",pid=9,fd=3))\n'
    assert system.parse_port_holders(beside, ours="mysite/nginx") == ["caddy (pid 9)"]


def test_a_port_published_by_this_sites_nginx_is_free_for_it_and_another_container_is_named():
    ours = ('container mysite_nginx_1 mysite/nginx\n'
            'LISTEN 0 4096 0.0.0.0:80 0.0.0.0:* users:(("docker-proxy",pid=9,fd=4))\n')
    assert system.parse_port_holders(ours, ours="mysite/nginx") == []
    other = "container web-1 web/proxy\nLISTEN 0 4096 0.0.0.0:80 0.0.0.0:*\n"  # read without root
    assert system.parse_port_holders(other, ours="mysite/nginx") == ["the container web-1"]
    assert system.parse_port_holders("LISTEN 0 4096 0.0.0.0:80 0.0.0.0:*\n", ours="mysite/nginx") == [
        "a process (`sudo ss -ltnp` on the server names it)"]
