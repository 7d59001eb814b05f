"""Real SSH servers on 127.0.0.1 for the host-key tests: paramiko in server mode, in threads.

Each server has its own ed25519 host key, accepts any public key, answers `exec` requests with a
fixed line, and forwards `direct-tcpip` channels (what a ProxyJump gateway does) to the addresses
its ``routes`` name, so a target can be reached "behind" a gateway under a name like `target.test`.
With ``forwarding``, it grants remote port forwards (it listens on nothing for them); a command that
contains ``hang`` is never answered, one that contains ``reads`` is answered once its stdin ends.
Nothing listens anywhere but 127.0.0.1.

    with SSHServer() as gateway, SSHServer() as target:
        gateway.routes[("target.test", 22)] = target.address
"""

from __future__ import annotations

import io
import socket
import threading
import time

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def _pem() -> str:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()).decode()


def new_key() -> paramiko.Ed25519Key:
    """A fresh ed25519 key (paramiko cannot generate one itself)."""
    return paramiko.Ed25519Key.from_private_key(io.StringIO(_pem()))


def new_key_file(path) -> str:
    """Write a fresh ed25519 private key (OpenSSH format) to ``path``; return the path."""
    with open(path, "w") as handle:
        handle.write(_pem())
    return str(path)


class _Interface(paramiko.ServerInterface):
    def __init__(self, server: SSHServer, transport: paramiko.Transport):
        self.server = server
        self.transport = transport

    def get_allowed_auths(self, username: str) -> str:
        return "publickey"

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        self.server.logins.append(username)
        return paramiko.AUTH_SUCCESSFUL

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_direct_tcpip_request(self, chanid: int, origin, destination) -> int:
        address = self.server.routes.get(tuple(destination))
        if address is None:
            return paramiko.OPEN_FAILED_CONNECT_FAILED
        self.server.forwards[chanid] = address
        return paramiko.OPEN_SUCCEEDED

    def check_port_forward_request(self, address: str, port: int) -> int | bool:
        if not self.server.forwarding:
            return False
        self.server.forwarded.append(self.transport)
        return port

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        self.server.commands.append(command.decode())
        if self.server.hang and self.server.hang in command.decode():
            return True
        reads = bool(self.server.reads and self.server.reads in command.decode())
        threading.Thread(target=_answer, args=(channel, self.server.reply, reads, self.server.delay),
                         daemon=True).start()
        return True


def _answer(channel: paramiko.Channel, reply: bytes, reads: bool = False, delay: float = 0.0) -> None:
    # paramiko sends the exec request's success only after check_channel_exec_request returns: a
    # channel closed before that makes the client's exec_command fail with "Channel closed."
    time.sleep(0.1 + delay)
    if channel.closed:  # the client stopped waiting (a timeout)
        return
    while reads and channel.recv(1024):  # invoke writes stdin a byte at a time, then sends EOF
        pass
    channel.sendall(reply)
    channel.send_exit_status(0)
    channel.shutdown_write()
    channel.close()


def _pipe(source, sink) -> None:
    try:
        while data := source.recv(32768):
            sink.sendall(data)
    except (OSError, EOFError):  # a socket's end, or paramiko's send on a transport that is gone: EOFError
        pass
    finally:
        for end in (source, sink):
            try:
                end.close()
            except (OSError, EOFError):  # paramiko's close of a channel whose transport is gone: EOFError
                pass


class SSHServer:
    """One SSH server on 127.0.0.1:<free port>; ``key`` is its host key (replace it to 'reinstall').

    ``delay``: seconds every command takes before it answers (a command that runs too long).
    """

    def __init__(self, reply: bytes = b"ok\n", delay: float = 0.0, *, forwarding: bool = False,
                 hang: str | None = None, reads: str | None = None):
        self.key = new_key()
        self.reply = reply
        self.delay = delay
        self.forwarding, self.hang, self.reads = forwarding, hang, reads
        self.forwarded: list[paramiko.Transport] = []  # the connection of each remote forward granted
        self.routes: dict[tuple[str, int], tuple[str, int]] = {}
        self.forwards: dict[int, tuple[str, int]] = {}
        self.logins: list[str] = []
        self.commands: list[str] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.address: tuple[str, int] = self._listener.getsockname()[:2]
        self._transports: list[paramiko.Transport] = []
        self._channels: list[paramiko.Channel] = []  # a dropped Channel closes itself
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def port(self) -> int:
        return self.address[1]

    def known_hosts_line(self, name: str | None = None) -> str:
        """This server's key as a known_hosts line, under ``name`` (default `[127.0.0.1]:PORT`)."""
        return f"{name or f'[127.0.0.1]:{self.port}'} {self.key.get_name()} {self.key.get_base64()}\n"

    def _serve(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(sock,), daemon=True).start()

    def _session(self, sock: socket.socket) -> None:
        transport = paramiko.Transport(sock)
        self._transports.append(transport)
        transport.add_server_key(self.key)
        try:
            transport.start_server(server=_Interface(self, transport))
        except (paramiko.SSHException, EOFError, OSError):
            return
        while transport.is_active():
            channel = transport.accept(timeout=0.2)
            if channel is None:
                continue
            self._channels.append(channel)
            address = self.forwards.pop(channel.get_id(), None)
            if address is not None:
                upstream = socket.create_connection(address)
                threading.Thread(target=_pipe, args=(channel, upstream), daemon=True).start()
                threading.Thread(target=_pipe, args=(upstream, channel), daemon=True).start()

    def close(self) -> None:
        self._listener.close()
        for transport in self._transports:
            transport.close()

    def __enter__(self) -> SSHServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
