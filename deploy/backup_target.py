"""The off-site backup target (``backup: target:`` in fabric.yaml): an SFTP folder, parsed and checked once.

Only ``sftp://user@host[:port]/path``: the password or key never goes in the URL (the env file holds it,
docs/BACKUPS.md), and the target's host key comes from known_hosts, like every host this toolkit talks to.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from deploy.errors import DeployError

USER = re.compile(r"^[A-Za-z_][A-Za-z0-9._-]{0,31}$")
HOST = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")  # a name or an IPv4 address
PATH = re.compile(r"^(/[A-Za-z0-9._~+-]+)+$")  # absolute, plain words: it goes into a YAML file and a shell word
SHAPE = "sftp://user@host[:port]/absolute/path"


@dataclass(frozen=True)
class Target:
    user: str
    host: str
    port: int
    path: str

    @property
    def url(self) -> str:
        return f"sftp://{self.user}@{self.host}:{self.port}{self.path}"

    @property
    def known_hosts_name(self) -> str:
        """How OpenSSH names this host in known_hosts: ``host`` on port 22, ``[host]:port`` elsewhere."""
        return self.host if self.port == 22 else f"[{self.host}]:{self.port}"


def parse(url: str) -> Target:
    """``url`` as a Target, or one line that says what is wrong with it."""
    parts = urlsplit(url)
    if parts.password is not None:  # never shown again, not even in this error
        raise DeployError("deploy setting backup target holds a password, which would be shown wherever the setting "
                          "is: remove it, and put LITESTREAM_SFTP_PASSWORD=... in the env file instead "
                          "(docs/BACKUPS.md)")
    where = f"deploy setting backup target={url!r}"
    if any(ord(ch) < 33 or ord(ch) == 127 for ch in url):
        raise DeployError(f"{where} holds a space, a newline or a control character: give {SHAPE}")
    if parts.scheme != "sftp":
        raise DeployError(f"{where} is not an sftp:// URL: the only kind of target is {SHAPE}")
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise DeployError(f"{where} has a query or a fragment: give {SHAPE}")
    if not parts.username or not USER.match(parts.username):
        raise DeployError(f"{where} names no usable user: give {SHAPE}")
    try:
        port = 22 if parts.port is None else parts.port
    except ValueError:
        raise DeployError(f"{where} has a port that is not a number from 1 to 65535") from None
    if not 1 <= port <= 65535:
        raise DeployError(f"{where} has a port that is not a number from 1 to 65535")
    host = parts.hostname or ""
    if not HOST.match(host):
        raise DeployError(f"{where} names no usable host (a name or an IPv4 address): give {SHAPE}")
    path = parts.path.rstrip("/")
    if not PATH.match(path) or any(word in (".", "..") for word in path.split("/")):
        raise DeployError(f"{where} needs an absolute folder of plain names (letters, digits, . _ ~ + -, no '..') "
                          f"after the host, e.g. sftp://{parts.username}@{host}/srv/backups/mysite")
    return Target(parts.username, host, port, path)


AT_FORMAT = "%Y-%m-%d %H:%M:%S"


def parse_at(text: str) -> datetime:
    """`fab restore --at`'s time, in UTC, checked before anything connects."""
    try:
        return datetime.strptime(text.strip(), AT_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise DeployError(f"--at {text!r} is not a time of the form \"YYYY-MM-DD HH:MM:SS\" (UTC), "
                          "e.g. --at \"2026-12-07 08:30:00\"") from None
