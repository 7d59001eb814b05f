"""supervisor, the article's process manager: its programs, and supervisorctl (user-level or system)."""

from shlex import quote

SYSTEM_CONF_D = "/etc/supervisor/conf.d"


def ctl(conf: str | None = None) -> str:
    """supervisorctl of the user-level supervisord (``conf``) or of the system's."""
    return f"supervisorctl -c {quote(conf)}" if conf else "supervisorctl"


def status(ctl: str, program: str) -> str:
    return f"{ctl} status {quote(program)}"


def stop(ctl: str, program: str) -> str:
    return f"{ctl} stop {quote(program)}"


def update(ctl: str) -> str:
    """Read changed program files and apply them."""
    return f"{ctl} reread && {ctl} update"


def program_files(program: str, pattern: str) -> str:
    """The files (``pattern`` is a shell glob, already quoted) that define ``[program:NAME]``."""
    return f"grep -lxF -- {quote(f'[program:{program}]')} {pattern} 2>/dev/null || true"


def user_programs(home: str) -> str:
    """The program files of the article's user-level supervisord, as a glob."""
    return f"{quote(home)}/etc/supervisor/conf.d/*.ini"


def system_programs() -> str:
    return f"{SYSTEM_CONF_D}/*.conf"


def system_installed() -> str:
    return "test -d /etc/supervisor && command -v supervisorctl >/dev/null"
