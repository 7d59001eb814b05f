"""Checks of what a user types, made on this machine before anything connects or runs.

Each refusal is a DeployError: one line naming the value, what is wrong with it and what to give instead.
"""

import errno
import ipaddress
import os
import re
import shlex
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deploy.errors import DeployError

RELEASE_NAME = re.compile(r"^\d{14}-[0-9a-f]{7}$")  # YYYYmmddHHMMSS-sha7: a release and its backup

HOST_EXAMPLE = "give user@host[:port], e.g. -H deploy@example.com or -H deploy@203.0.113.7:2222"
HOST_NAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$")
USER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}\$?$")
DIGITS = re.compile(r"^[0-9]+$")
IPV6_PORT = re.compile(r"^\[([^\]]*)\](?::([^:]*))?$")  # [address] or [address]:port
IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")  # Docker's grammar for a tag
SHOWN = 60  # characters of a value an error line repeats
# the words `--service` takes for the app, whatever its name (`fab logs`'s default is the first); the app's
# service itself is named after app_name (deploy.names.app_service)
APP_SERVICES = ("app", "django", "mysite")  # --service words for the app, whatever its name


def shown(value: str) -> str:
    """``value`` as an error line repeats it: quoted, escaped, and cut short when it is long."""
    return repr(value) if len(value) <= SHOWN else f"{value[:SHOWN]!r}... ({len(value)} characters)"


def text(value: str, what: str) -> str:
    """Text that can travel: valid UTF-8 (a non-UTF-8 byte arrives from the shell as a lone surrogate)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise DeployError(f"{what} {shown(value)} is not valid UTF-8 text: type it again in plain text") from None
    return value


def words(value: str, what: str) -> list[str]:
    """``value`` split into words as a shell would: quotes group words, a backslash escapes."""
    try:
        return shlex.split(text(value, what))
    except ValueError as error:
        problem = "ends with a lone backslash" if "escaped" in str(error) else "has a quote that is never closed"
        raise DeployError(f"{what} {shown(value)} {problem}: close it, or escape the character with \\") from None


def manage_command(value: str) -> list[str]:
    """A manage.py command line (``fab manage``, ``inv local.manage``) as its words."""
    found = words(value, "the manage.py command")
    if not found:
        raise DeployError("the manage.py command is empty: name one, e.g. fab manage createsuperuser")
    return found


@dataclass(frozen=True)
class Address:
    """One ``[user@]host[:port]`` as checked by ``host``; ``port`` is None when not given (ssh's default)."""

    user: str | None
    host: str
    port: int | None

    @property
    def key(self) -> tuple[str, int]:
        """What makes two addresses one machine: the host (its name in any case) and the port."""
        return self.host.lower(), self.port or 22

    def names(self, host: str, port: int | None) -> bool:
        """Whether this address (a node named on the command line) names the machine at ``host:port``."""
        return self.host.lower() == host.lower() and self.port in (None, port or 22)

    def connection(self) -> dict[str, Any]:
        """Fabric's Connection keywords (Fabric's own host strings cannot say an IPv6 address's port)."""
        return {"host": self.host, "user": self.user, "port": self.port}


def host_example(option: str) -> str:
    if option == "-H":
        return HOST_EXAMPLE
    return ("give user@host[:port] for each node, e.g. deploy@a.example,deploy@203.0.113.7:2222 "
            "(an IPv6 address in brackets: deploy@[2001:db8::7]:2222)")


def host(value: str, option: str = "-H") -> Address:
    """One ``[user@]host[:port]`` given to ``option``, the way Fabric reads it; an IPv6 address is bare (port 22)
    or in brackets, with a port: ``deploy@[2001:db8::7]:2222``."""
    where, example = f"{option} {value!r}", host_example(option)
    if not value:
        raise DeployError(f"{where} names an empty host: give the server, {example}")
    user, at, address = value.rpartition("@")
    if not address or (address.startswith(":") and address.count(":") == 1):
        raise DeployError(f"{where} has no host name: {example}")
    if at and not user:
        raise DeployError(f"{where} has no user before @: give one, {example}")
    if user and not USER.match(user):
        raise DeployError(f"{where}: the user {user!r} is not a login name: {example}")
    bracketed = IPV6_PORT.match(address)
    if bracketed or address.count(":") > 1:
        name, port = bracketed.groups() if bracketed else (address, None)
        if not _ip(name, 6):
            raise DeployError(f"{where}: {name!r} is not an IPv6 address: {example}")
        return Address(user or None, name, _port(port, where, example) if port is not None else None)
    if address.startswith("["):
        raise DeployError(f"{where}: {address!r} is not an IPv6 address in brackets: {example}")
    name, colon, port = address.partition(":")
    number = _port(port, where, example) if colon else None
    if not HOST_NAME.match(name) or (re.match(r"^[0-9.]+$", name) and not _ip(name, 4)):
        raise DeployError(f"{where}: {name!r} is not a host name or IP address: {example}")
    return Address(user or None, name, number)


def _port(port: str, where: str, example: str) -> int:
    if not (DIGITS.match(port) and len(port) <= 5 and 1 <= int(port) <= 65535):
        raise DeployError(f"{where}: the port {port!r} is not a number from 1 to 65535: {example}")
    return int(port)


def node_named(nodes: tuple[str, ...], name: str, option: str) -> int:
    """The index of the node in ``nodes`` that ``name`` (given as ``option``) names, or a refusal: host names
    compare in any case, a port left out matches any."""
    wanted = host(name, option)
    found = [index for index, node in enumerate(nodes) if wanted.names(*host(node, "--nodes").key)]
    if len(found) == 1:
        return found[0]
    if found:
        raise DeployError(f"{option} {name!r} names {len(found)} nodes ({', '.join(nodes[i] for i in found)}): "
                          "add the port")
    raise DeployError(f"{option} {name!r} is not one of the nodes ({', '.join(nodes)}): name one of them")


def distinct_nodes(nodes: tuple[str, ...], option: str) -> None:
    """Refuse a machine listed twice (in other spellings too: host names compare in any case)."""
    seen: dict[tuple[str, int], str] = {}
    for node in nodes:
        key = host(node, option).key
        if key in seen:
            raise DeployError(f"{option} lists one node twice ({seen[key]!r} and {node!r}): give each node once")
        seen[key] = node


def _ip(text: str, version: int) -> bool:
    try:
        return ipaddress.ip_address(text).version == version
    except ValueError:
        return False


def number(value: str, option: str, low: int, high: int) -> int:
    """A whole number from ``low`` to ``high`` given as ``option`` (digits only: no sign, no spaces)."""
    if not DIGITS.match(value):
        raise DeployError(f"{option} {shown(value)} is not a whole number: give one from {low} to {high}")
    if len(value) > len(str(high)) or int(value) > high:
        raise DeployError(f"{option} {value if len(value) <= 20 else value[:20] + '...'} is too large: "
                          f"give at most {high}")
    if int(value) < low:
        raise DeployError(f"{option} {int(value)} is too small: give at least {low}")
    return int(value)


def existing_file(value: str, what: str, hint: str) -> Path:
    """A regular file here that can be read; ``hint`` says which file to give instead."""
    if not text(value, what):
        raise DeployError(f"{what} is empty: {hint}")
    try:
        mode = Path(value).stat().st_mode
    except OSError as error:
        raise DeployError(f"{what} {shown(value)}: {_problem(error)}: {hint}") from None
    if stat.S_ISDIR(mode):
        raise DeployError(f"{what} {shown(value)} is a folder: {hint}")
    if not stat.S_ISREG(mode):
        raise DeployError(f"{what} {shown(value)} is not a regular file: {hint}")
    return Path(value)


def new_file(value: str, what: str) -> Path:
    """Where a file will be written here: a file name (not a folder's) in a folder that exists and is writable."""
    if not text(value, what):
        raise DeployError(f"{what} is empty: give a file name, e.g. {what} db.sqlite3")
    if any(ord(character) < 32 or ord(character) == 127 for character in value):
        raise DeployError(f"{what} {shown(value)} has a control character (a line break?): give a plain file name")
    path = Path(value)
    folder = path if value.endswith("/") else path.parent
    try:
        if path.is_dir():
            raise DeployError(f"{what} {shown(value)} is a directory: give a file name, e.g. {what} "
                              f"{value.rstrip('/')}/db.sqlite3")
        if not folder.exists():
            raise DeployError(f"the folder {shown(str(folder))} does not exist: create it first, or give another "
                              f"{what}")
        if not folder.is_dir():
            raise DeployError(f"{what} {shown(value)}: {shown(str(folder))} is not a folder: give a file name in one")
    except OSError as error:
        raise DeployError(f"{what} {shown(value)}: {_problem(error)}: give a shorter file name") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DeployError(f"cannot write in the folder {shown(str(folder))}: give {what} in a folder you can write to")
    return path


def _problem(error: OSError) -> str:
    """An OSError about a path said in words (the path itself is already in the line)."""
    if error.errno == errno.ENOENT:
        return "no such file"
    if error.errno == errno.ENAMETOOLONG:
        return "the name is too long"
    return (error.strerror or str(error)).lower()


def release(value: str, option: str = "--to") -> str:
    """A release name as `fab releases` lists them."""
    if not RELEASE_NAME.match(value):
        raise DeployError(f"{option} {shown(value)} is not a release name (YYYYmmddHHMMSS-sha7, e.g. "
                          "20261124100509-bbbbbbb): pick one from `fab releases`")
    return value


def image_tag(value: str, option: str = "--tag") -> str:
    if not IMAGE_TAG.match(value):
        raise DeployError(f"{option} {shown(value)} is not a Docker image tag: use letters, digits, '_', '.' and "
                          f"'-' (at most 128, not starting with '.' or '-'), e.g. {option} latest")
    return value


def ipv4(value: str, option: str) -> str:
    """An IPv4 address of this machine to publish a port on (compose's HOST:PORT:PORT form)."""
    if not _ip(value, 4):
        raise DeployError(f"{option} {shown(value)} is not an IPv4 address: give 127.0.0.1 (this machine only) "
                          "or 0.0.0.0 (every interface)")
    return value


def distinct_ports(**ports: int) -> None:
    """Ports given as ``--option=port`` that must differ."""
    (first, port), (second, other) = ports.items()
    if port == other:
        raise DeployError(f"--{first.replace('_', '-')} and --{second.replace('_', '-')} are both {port}: "
                          "give two different ports")
