"""The server's system: its distribution, systemd units, users and groups, listening ports."""

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
