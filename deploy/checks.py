"""Checks of what a user types, made on this machine before anything connects or runs.

Each refusal is a DeployError: one line naming the value, what is wrong with it and what to give instead.
"""

import errno
import ipaddress
import os
import re
import shlex
import stat
from pathlib import Path

from deploy.errors import DeployError

RELEASE_NAME = re.compile(r"^\d{14}-[0-9a-f]{7}$")  # YYYYmmddHHMMSS-sha7: a release and its backup

HOST_EXAMPLE = "give user@host[:port], e.g. -H deploy@example.com or -H deploy@203.0.113.7:2222"
HOST_NAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$")
USER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}\$?$")
DIGITS = re.compile(r"^[0-9]+$")
IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")  # Docker's grammar for a tag
SHOWN = 60  # characters of a value an error line repeats


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


def host(value: str) -> None:
    """One ``[user@]host[:port]`` given to -H, the way Fabric reads it (an IPv6 address has no port)."""
    where = f"-H {value!r}"
    if not value:
        raise DeployError(f"{where} names an empty host: give the server, {HOST_EXAMPLE}")
    user, at, address = value.rpartition("@")
    if not address or address.startswith(":"):
        raise DeployError(f"{where} has no host name: {HOST_EXAMPLE}")
    if at and not user:
        raise DeployError(f"{where} has no user before @: give one, {HOST_EXAMPLE}")
    if user and not USER.match(user):
        raise DeployError(f"{where}: the user {user!r} is not a login name: {HOST_EXAMPLE}")
    if address.count(":") > 1:
        if not _ip(address, 6):
            raise DeployError(f"{where}: {address!r} is not an IPv6 address: {HOST_EXAMPLE}")
        return
    name, colon, port = address.partition(":")
    if colon and not (DIGITS.match(port) and len(port) <= 5 and 1 <= int(port) <= 65535):
        raise DeployError(f"{where}: the port {port!r} is not a number from 1 to 65535: {HOST_EXAMPLE}")
    if not HOST_NAME.match(name) or (re.match(r"^[0-9.]+$", name) and not _ip(name, 4)):
        raise DeployError(f"{where}: {name!r} is not a host name or IP address: {HOST_EXAMPLE}")


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
