"""The server's system: its distribution, systemd units, users and groups, listening ports."""

import re
from shlex import quote

from deploy.names import TOOLKIT

# The kernel settings `fab bootstrap` keeps on a server (loaded at every boot by systemd-sysctl).
# tcp_migrate_req (Linux >= 5.14): when nginx's old container closes its listeners during an update, the
# connections still waiting in their accept queues move to the new nginx's listeners (same port, reuseport)
# instead of being reset.
SYSCTL_FILE = f"/etc/sysctl.d/60-{TOOLKIT}.conf"
MIGRATE_REQ = "net.ipv4.tcp_migrate_req"
SYSCTL_TEXT = (f"# written by `fab bootstrap`: an nginx update hands the connections waiting in the old nginx's\n"
               f"# accept queue to the new one (docs/ARCHITECTURE.md)\n{MIGRATE_REQ} = 1\n")


def os_release() -> str:
    return "cat /etc/os-release"


def true() -> str:
    """Nothing at all: run under sudo, it proves sudo works."""
    return "true"


def is_active(unit: str) -> str:
    return f"systemctl is-active --quiet {quote(unit)}"


def is_enabled(unit: str) -> str:
    return f"systemctl is-enabled --quiet {quote(unit)}"


def enable(unit: str, now: bool = False) -> str:
    return f"systemctl enable {'--now ' if now else ''}{quote(unit)}"


def disable_now(unit: str) -> str:
    return f"systemctl disable --now {quote(unit)}"


def stop(unit: str) -> str:
    return f"systemctl stop {quote(unit)}"


def restart(unit: str) -> str:
    return f"systemctl restart {quote(unit)}"


def daemon_reload() -> str:
    return "systemctl daemon-reload"


def _proc_path(key: str) -> str:
    return f"/proc/sys/{key.replace('.', '/')}"


def has_sysctl(key: str) -> str:
    """Exits 0 when this kernel knows ``key`` (tcp_migrate_req: Linux >= 5.14)."""
    return f"test -e {_proc_path(key)}"


def sysctl_value(key: str) -> str:
    """The value now, read from /proc: `sysctl` is in /usr/sbin, outside a non-root SSH session's PATH on Debian."""
    return f"cat {_proc_path(key)}"


def load_sysctl(path: str) -> str:
    return f"sysctl -p {quote(path)}"


def groups(user: str) -> str:
    return f"id -nG {quote(user)}"


def add_to_group(user: str, group: str) -> str:
    return f"usermod -aG {quote(group)} {quote(user)}"


def listeners(port: int) -> str:
    """Who listens on TCP ``port`` (with processes when run as root)."""
    return f"ss -ltnpH 'sport = :{int(port)}'"


SERVICE = "{{.Label \"com.docker.compose.project\"}}/{{.Label \"com.docker.compose.service\"}}"


def port_holders(port: int) -> str:
    """The containers that publish TCP ``port`` ('container NAME PROJECT/SERVICE' lines), those on the host's
    network ('host-network NAME PROJECT/SERVICE': they bind ports themselves), then its listeners."""
    published = quote(f"container {{{{.Names}}}} {SERVICE}")
    host = quote(f"host-network {{{{.Names}}}} {SERVICE}")
    return (f"docker ps --filter publish={int(port)} --format {published} 2>/dev/null; "
            f"docker ps --filter network=host --format {host} 2>/dev/null; {listeners(port)}")


def parse_port_holders(text: str, ours: str) -> list[str]:
    """What holds the port, in words, leaving out ``ours`` ('PROJECT/nginx': published by Docker's proxy, or
    nginx's own processes when it runs on the host's network) and Docker's proxies of containers."""
    holders = []
    containers = [line.split() for line in text.splitlines() if line.startswith("container ")]
    ours_on_host = any(line.split()[2:3] == [ours] for line in text.splitlines() if line.startswith("host-network "))
    for words in containers:
        if words[2:3] != [ours]:
            holders.append(f"the container {words[1]}")
    for line in text.splitlines():
        if line.strip() and not line.startswith(("container ", "host-network ")) and "docker-proxy" not in line:
            if (containers or ours_on_host) and "users:" not in line:
                continue  # read without root: a container's proxy, or our nginx, looks like this too
            if ours_on_host and set(re.findall(r'\("([^"]+)",pid=', line)) == {"nginx"}:
                continue  # our nginx on the host's network: the port is the site's already
            pids: dict[str, list[str]] = {}
            for name, pid in re.findall(r'\("([^"]+)",pid=(\d+)', line):
                pids.setdefault(name, []).append(pid)
            holders.append(", ".join(f"{name} (pid {', '.join(numbers)})" for name, numbers in pids.items())
                           or "a process (`sudo ss -ltnp` on the server names it)")
    return list(dict.fromkeys(holders))
