"""The server's system: its distribution, systemd units, users and groups, listening ports."""

import re
from shlex import quote


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


def groups(user: str) -> str:
    return f"id -nG {quote(user)}"


def add_to_group(user: str, group: str) -> str:
    return f"usermod -aG {quote(group)} {quote(user)}"


def listeners(port: int) -> str:
    """Who listens on TCP ``port`` (with processes when run as root)."""
    return f"ss -ltnpH 'sport = :{int(port)}'"


def port_holders(port: int) -> str:
    """The containers that publish TCP ``port`` ('container NAME PROJECT/SERVICE' lines), then its listeners."""
    fmt = "container {{.Names}} {{.Label \"com.docker.compose.project\"}}/{{.Label \"com.docker.compose.service\"}}"
    return f"docker ps --filter publish={int(port)} --format {quote(fmt)} 2>/dev/null; {listeners(port)}"


def parse_port_holders(text: str, ours: str) -> list[str]:
    """What holds the port, in words, leaving out ``ours`` ('PROJECT/nginx') and Docker's proxies of containers."""
    holders = []
    containers = [line.split() for line in text.splitlines() if line.startswith("container ")]
    for words in containers:
        if words[2:3] != [ours]:
            holders.append(f"the container {words[1]}")
    for line in text.splitlines():
        if line.strip() and not line.startswith("container ") and "docker-proxy" not in line:
            if containers and "users:" not in line:
                continue  # read without root: a container's proxy looks like this too
            pids: dict[str, list[str]] = {}
            for name, pid in re.findall(r'\("([^"]+)",pid=(\d+)', line):
                pids.setdefault(name, []).append(pid)
            holders.append(", ".join(f"{name} (pid {', '.join(numbers)})" for name, numbers in pids.items())
                           or "a process (`sudo ss -ltnp` on the server names it)")
    return list(dict.fromkeys(holders))
