"""The thin layer over a Fabric ``Connection``: run, sudo, put, dry-run, and one-line errors.

Nothing here knows what a deploy is; it only runs the strings that ``commands`` builds.
"""

import io
import logging
import os
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from fabric import Connection
from invoke.exceptions import CommandTimedOut
from invoke.runners import Result
from paramiko.ssh_exception import (
    AuthenticationException,
    BadHostKeyException,
    ChannelException,
    NoValidConnectionsError,
    ProxyCommandFailure,
    SSHException,
)

from deploy import hostkeys
from deploy.commands import files, shell
from deploy.errors import DeployError, RemoteCommandFailed
from deploy.output import say

CONNECT_TIMEOUT = 10
NO_EXIT_STATUS = -1  # what Fabric reports for a channel closed before the command sent its exit status


class Host:
    """One server. ``run``/``sudo`` raise ``DeployError`` with one line; ``dry_run`` only prints."""

    def __init__(self, conn: Connection, *, dry_run: bool = False, known_hosts: str = "~/.ssh/known_hosts"):
        self.conn = conn
        self.dry_run = dry_run
        self.known_hosts = known_hosts
        self._home: str | None = None

    @property
    def name(self) -> str:
        return f"{self.conn.user}@{self.conn.host}:{self.conn.port}"

    @property
    def has_sudo_password(self) -> bool:
        return bool(self.conn.config.get("sudo", {}).get("password"))

    def run(self, command: str, *, hide: bool = True, warn: bool = False, pty: bool = False,
            what: str | None = None, timeout: int | None = None, stdin: str | None = None) -> Result:
        """``stdin``: text for the command's standard input (a secret never put in the command line)."""
        if self.dry_run:
            say(f"    [dry-run] {command}" + (" (with a value on its stdin)" if stdin is not None else ""))
            return Result(stdout="", stderr="", exited=0, command=command)
        kwargs: dict[str, Any] = {"hide": hide, "warn": True, "pty": pty, "timeout": timeout}
        if stdin is not None:
            kwargs["in_stream"] = io.StringIO(stdin)  # sent, then the remote stdin is closed
        elif not pty:
            kwargs["in_stream"] = False  # never wait on our own stdin (CI has none)
        result = self._timed(self.conn.run, command, **kwargs)
        if result.failed and not warn:
            raise RemoteCommandFailed(command, result.exited, result.stdout + result.stderr, what)
        return result

    def sudo(self, command: str, **kwargs: Any) -> Result:
        """Root without a prompt (``sudo -n``), or with the password given by --prompt-for-sudo-password."""
        if self.has_sudo_password and not self.dry_run:
            warn = kwargs.pop("warn", False)
            what = kwargs.pop("what", None)
            if not kwargs.get("pty"):
                # the password goes through a watcher; local stdin at EOF (CI, < /dev/null) would
                # otherwise close the remote stdin before sudo reads it
                kwargs.setdefault("in_stream", False)
            kwargs.setdefault("hide", True)
            result = self._timed(self.conn.sudo, shell.sh(command), warn=True, **kwargs)
            if result.failed and not warn:
                raise RemoteCommandFailed(command, result.exited, result.stdout + result.stderr, what)
            return result
        return self.run(shell.sudo(command), **kwargs)

    def ok(self, command: str) -> bool:
        """True when ``command`` exits 0 (a probe; never raises for a non-zero exit)."""
        return self.run(command, warn=True).ok

    def probe(self, command: str) -> Result:
        """Run a read-only command (cat, test, id, systemctl is-active) even in dry-run; never raises.

        A dry run reads the server's real state this way, so it can print the real plan of changes.
        Never pass a command that changes anything.
        """
        if self.dry_run:
            say(f"    [dry-run, read-only probe] {command}")
        kwargs: dict[str, Any] = {"hide": True, "warn": True, "in_stream": False}
        return self._call(self.conn.run, command, **kwargs)

    def open(self) -> None:
        """Connect now (host key checked), so connection problems surface before any step runs."""
        self._call(self.conn.open)

    def reconnect(self) -> None:
        """Drop the SSH connection; the next command opens a new one (e.g. to pick up new groups)."""
        if self.dry_run:
            return
        self._call(self.conn.close)
        # A key accepted on first contact is only in the file: load it, so the new connection must
        # present the same key (a different one is refused, never accepted as "new" again).
        path = os.path.expanduser(self.known_hosts)
        if os.path.isfile(path):
            self.conn.client.load_system_host_keys(path)

    def output(self, command: str, **kwargs: Any) -> str:
        return self.run(command, **kwargs).stdout.strip()

    def put(self, local: str, remote: str, mode: int | None = None) -> None:
        if self.dry_run:
            say(f"    [dry-run] upload {local} -> {remote}")
            return
        self._call(self.conn.put, local, remote)
        if mode is not None:
            self.run(files.chmod(remote, mode))

    def get(self, remote: str, local: str) -> None:
        """Download ``remote`` to ``local``, readable by this user only (600); a dry run only prints it.

        Fabric would give the local file the remote file's mode (``preserve_mode``): a database backup
        made 644 somewhere would land readable by every local user.
        """
        if self.dry_run:
            say(f"    [dry-run] download {remote} -> {local}")
            return
        self._call(self.conn.get, remote, local, preserve_mode=False)
        os.chmod(local, 0o600)

    @contextmanager
    def forward_remote(self, remote_port: int, local_port: int) -> Iterator[None]:
        """For the block: the server's 127.0.0.1:``remote_port`` leads to this machine's 127.0.0.1:``local_port``."""
        if self.dry_run:
            say(f"    [dry-run] tunnel: {self.conn.host}'s 127.0.0.1:{remote_port} -> 127.0.0.1:{local_port} here")
            yield
            return
        with ExitStack() as opened:
            self._call(opened.enter_context, self.conn.forward_remote(
                remote_port, remote_host="127.0.0.1", local_port=local_port, local_host="127.0.0.1"))
            yield

    @property
    def home(self) -> str:
        """The user's real $HOME, read once (a read-only probe, so a dry run reads it too)."""
        if self._home is None:
            command = shell.home()
            home = (self.probe(command) if self.dry_run else self.run(command)).stdout.strip()
            if not home:
                raise DeployError(f"could not read the home folder of {self.name} (`{command}` printed "
                                  "nothing): give that user a home folder, then run the command again")
            self._home = home
        return self._home

    def _timed(self, method: Any, command: str, **kwargs: Any) -> Result:
        """``method(command)``; a command past its timeout is one line that never shows the command."""
        started, timeout = time.monotonic(), kwargs.get("timeout")
        result = self._call(method, command, **kwargs)
        if timeout is not None and result.exited == NO_EXIT_STATUS and time.monotonic() - started >= timeout:
            # invoke's timer closed the channel, but was still closing it when invoke asked whether it had
            # fired (a busy machine): no CommandTimedOut, only a result without an exit status; the same error as
            # when the timeout is raised, chained to nothing
            raise timed_out(self, timeout) from None
        return result

    def _call(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except DeployError:
            raise
        except CommandTimedOut as error:  # the connection is fine; the command is what took too long
            # invoke's own message holds the whole command, which may hold a secret: never shown, never chained
            raise timed_out(self, error.timeout) from None
        except Exception as error:  # noqa: BLE001 - every low-level failure becomes one line
            raise connection_error(self, error) from error


def timed_out(host: Host, seconds: float) -> DeployError:
    """A command that ran longer than its timeout; the step printed above says which (its text is never shown)."""
    return DeployError(f"a command on {host.name} did not finish within {seconds:g} s (it may still be running "
                       "there): see `fab status`, then run this again")


def connection_error(host: Host, error: BaseException) -> DeployError:
    """Turn paramiko/socket failures into the one line a user needs."""
    return failure(host.conn, error, host.known_hosts)


def failure(conn: Connection, error: BaseException, known_hosts: str, role: str = "") -> DeployError:
    """The one line for ``error`` on ``conn``; ``role`` names a jump host (``hostkeys.JUMP_HOST``)."""
    where = hostkeys.describe(conn, role)
    timeout = conn.connect_timeout or CONNECT_TIMEOUT
    if isinstance(error, BadHostKeyException):
        # paramiko's error.hostname lacks the port: name the entry that really is in known_hosts
        return hostkeys.changed_host_key_error(
            hostkeys.known_hosts_name(conn.host, conn.port), error.key, error.expected_key, known_hosts, role)
    if isinstance(error, AuthenticationException):
        return DeployError(
            f"SSH login as {conn.user} on {where} was refused: install your key with "
            f"`ssh-copy-id -p {conn.port} {conn.user}@{conn.host}` or pass -i KEYFILE")
    if isinstance(conn.gateway, str) and not conn.is_connected:
        why = _not_ssh(error)
        reason = (PROXY_FAILED[why].format(timeout=timeout) if why
                  else f"it failed: {error.error}" if isinstance(error, ProxyCommandFailure)
                  else error.strerror if isinstance(error, OSError) and error.strerror else error)
        return DeployError(f"the ProxyCommand for {where} gave no SSH connection ({reason}): "
                           f"run `{conn.gateway}` by hand to see why")
    if isinstance(error, socket.gaierror):
        return DeployError(f"cannot resolve host {conn.host!r}{f' ({role.strip()})' if role else ''}: "
                           "check the name given to -H and in your ssh config")
    if isinstance(error, NoValidConnectionsError | ConnectionRefusedError):
        return DeployError(
            f"cannot connect to {where}: connection refused; is sshd running there and is the port right?")
    if isinstance(error, TimeoutError | socket.timeout):
        return DeployError(
            f"{where} did not answer within {timeout}s: check the address, the port and the firewall")
    if isinstance(error, OSError):
        return DeployError(f"cannot reach {where}: {error.strerror or error}; check the address and network")
    if isinstance(error, ChannelException) and isinstance(conn.gateway, Connection) and not conn.is_connected:
        return DeployError(
            f"{hostkeys.describe(conn.gateway, hostkeys.JUMP_HOST)} could not connect to {where} ({error.text}): "
            "check the address and port as that jump host sees them, and that sshd runs there")
    why = _not_ssh(error)
    if why:
        return DeployError(f"{where} {NOT_SSH[why].format(timeout=timeout)}: is {conn.port} the SSH port "
                           f"of {conn.host}?")
    if isinstance(error, EOFError | SSHException):
        return DeployError(f"the SSH connection to {where} failed or was lost ({error or type(error).__name__}): "
                           "check the server and run the command again")
    return DeployError(f"talking to {where} failed: {type(error).__name__}: {error}")


NOT_SSH = {"silent": "did not answer as an SSH server within {timeout}s",
           "closed": "closed the connection without speaking SSH",
           "other": "answered, but not as an SSH server"}
PROXY_FAILED = {"silent": "no answer within {timeout}s", "closed": "it closed the connection",
                "other": "it answered with something else"}


def _not_ssh(error: BaseException) -> str | None:
    """How a connection failed to become SSH (a key of ``NOT_SSH``), or None."""
    if not isinstance(error, SSHException) or isinstance(error, ProxyCommandFailure):
        return None
    text = str(error)
    if text == "No existing session":  # the handshake did not finish within the connect timeout
        return "silent"
    if text.startswith("Error reading SSH protocol banner"):
        return "silent" if isinstance(error.__context__, TimeoutError | socket.timeout) else "closed"
    if text.startswith(("Indecipherable protocol version", "Invalid SSH banner")):
        return "other"
    return None


def _quiet_paramiko() -> None:
    """paramiko's transport thread logs its failures with tracebacks; without a handler they reach stderr.

    The failure itself reaches us as an exception and becomes one line (``failure``). A handler
    configured by the user (e.g. `fab --debug`) still gets paramiko's records.
    """
    logger = logging.getLogger("paramiko")
    if not any(isinstance(handler, logging.NullHandler) for handler in logger.handlers):
        logger.addHandler(logging.NullHandler())


def _name_failures(gateway: Connection, known_hosts: str) -> None:
    """Failures while opening a jump host name that jump host, not the target behind it."""
    opener = gateway.open

    def open_gateway() -> Any:
        try:
            return opener()
        except DeployError:
            raise
        except Exception as error:  # noqa: BLE001 - every low-level failure becomes one line
            raise failure(gateway, error, known_hosts, hostkeys.JUMP_HOST) from error

    gateway.open = open_gateway


def connect(c: Any, *, accept_new_host_key: bool = False, dry_run: bool = False,
            known_hosts: str = "~/.ssh/known_hosts") -> Host:
    """Wrap a Fabric task's context in a ``Host`` whose host key, and every jump host's, is checked.

    See ``deploy.hostkeys`` for what is checked with ProxyJump and with ProxyCommand.
    """
    if not isinstance(c, Connection):
        raise DeployError("no host given: name the server, e.g. `fab -H deploy@example.com TASK`")
    _quiet_paramiko()
    hostkeys.secure_route(c, known_hosts, accept_new_host_key, dry_run=dry_run)
    for hop in hostkeys.route(c):
        if hop.connect_timeout is None:
            hop.connect_timeout = CONNECT_TIMEOUT
        # a port that accepts and never speaks SSH fails after the connect timeout, not paramiko's 15 s
        hop.connect_kwargs.setdefault("banner_timeout", hop.connect_timeout)
        if hop is not c:
            _name_failures(hop, known_hosts)
    return Host(c, dry_run=dry_run, known_hosts=known_hosts)
