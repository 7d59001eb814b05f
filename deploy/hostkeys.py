"""Host-key verification. Fabric accepts any key by default; we check known_hosts like ssh does.

An unknown key is refused unless the user explicitly accepts new keys (first contact); a changed key
is always refused, because that is what a man in the middle looks like. A dry run that accepts a
new key pins it for that run only and writes nothing.

Every connection we open is checked, not only the target's: with ``ProxyJump`` (in ~/.ssh/config,
a ``-S`` file, or Fabric's ``gateway``) Fabric opens a separate ``Connection`` to each jump host, with
its own client that would auto-add any key; ``secure_route`` gives every hop of the route, a jump
host's own jump host included, the same known_hosts files and the same policy as the target. With
``ProxyCommand`` the gateway is a program we only talk through: we still check the target's key,
but the gateway's key is checked by that command (its own ssh and its own known_hosts), not by us.
"""

import base64
import hashlib
import os
from pathlib import Path

from fabric import Connection
from paramiko import HostKeys, MissingHostKeyPolicy, PKey, SSHClient
from paramiko.hostkeys import HostKeyEntry

from deploy.errors import DeployError
from deploy.output import say

JUMP_HOST = "the jump host "


def fingerprint(key: PKey) -> str:
    """OpenSSH's fingerprint format: SHA256:<base64 without padding>."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def known_hosts_name(host: str, port: int | str) -> str:
    """The name ssh and paramiko look up and write: ``host`` on port 22, else ``[host]:port``."""
    return host if str(port) == "22" else f"[{host}]:{port}"


def _host_and_port(hostname: str) -> tuple[str, str]:
    # paramiko names non-22 ports as "[host]:port"
    if hostname.startswith("[") and "]:" in hostname:
        host, port = hostname[1:].split("]:", 1)
        return host, port
    return hostname, "22"


def keyscan_hint(hostname: str, known_hosts: str) -> str:
    host, port = _host_and_port(hostname)
    port_flag = "" if port == "22" else f"-p {port} "
    return f"ssh-keyscan {port_flag}{host} >> {known_hosts}"


class UnknownHostKey(DeployError):
    def __init__(self, hostname: str, key: PKey, known_hosts: str, role: str = "", behind: str | None = None):
        host, port = _host_and_port(hostname)
        if behind:  # ssh-keyscan would ask from here, where the host is not reachable
            how = (f"check that fingerprint, then pass --accept-new-host-key to record it (it is reached "
                   f"through {behind}, so it cannot be asked directly)")
        else:
            how = (f"check that fingerprint, then add it with `{keyscan_hint(hostname, known_hosts)}`, "
                   "or pass --accept-new-host-key on first contact")
        super().__init__(
            f"host key of {role}{host}:{port} ({key.get_name()} {fingerprint(key)}) is not in {known_hosts}: {how}")


def changed_host_key_error(hostname: str, got: PKey, expected: PKey, known_hosts: str,
                           role: str = "") -> DeployError:
    """``hostname`` is the known_hosts name (``known_hosts_name``), so the ssh-keygen line removes the real entry."""
    host, port = _host_and_port(hostname)
    return DeployError(
        f"host key of {role}{host}:{port} has CHANGED (known {expected.get_name()} {fingerprint(expected)}, "
        f"offered {got.get_name()} {fingerprint(got)}): this may be a man-in-the-middle attack; refusing. "
        f"If the server was really reinstalled, remove the old key with `ssh-keygen -f {known_hosts} "
        f"-R '{hostname}'` and connect again"
    )


class RefuseUnknown(MissingHostKeyPolicy):
    def __init__(self, known_hosts: str, role: str = "", behind: str | None = None):
        self.known_hosts = known_hosts
        self.role = role
        self.behind = behind

    def missing_host_key(self, client: SSHClient, hostname: str, key: PKey) -> None:
        raise UnknownHostKey(hostname, key, self.known_hosts, self.role, self.behind)


class AcceptNew(RefuseUnknown):
    """Like ssh's StrictHostKeyChecking=accept-new: record a first-seen key, never a changed one.

    In a dry run the key is only pinned for this run: nothing is written.
    """

    def __init__(self, known_hosts: str, role: str = "", behind: str | None = None, dry_run: bool = False):
        super().__init__(known_hosts, role, behind)
        self.dry_run = dry_run

    def missing_host_key(self, client: SSHClient, hostname: str, key: PKey) -> None:
        # pin it for this client, so a reconnect must meet the same key
        client.get_host_keys().add(hostname, key.get_name(), key)
        path = Path(os.path.expanduser(self.known_hosts))
        if self.dry_run:
            host, port = _host_and_port(hostname)
            say(f"    would record the new host key of {self.role}{host}:{port} ({key.get_name()} "
                f"{fingerprint(key)}) in {path} (dry run: not written; accepted for this run only)")
            return
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            with path.open("a") as handle:
                handle.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")
            path.chmod(0o600)
        except OSError as error:
            host, port = _host_and_port(hostname)
            raise DeployError(
                f"cannot record the host key of {self.role}{host}:{port} in {path}: {error.strerror or error}; "
                "fix that file (or point known_hosts elsewhere) and run the command again") from error
        say(f"    accepted new host key for {self.role}{hostname}: {key.get_name()} {fingerprint(key)} "
            f"(saved to {path})")


def known_hosts_files(primary: str, ssh_config: dict) -> list[str]:
    """The user's known_hosts plus any UserKnownHostsFile from ssh_config (-S or ~/.ssh/config)."""
    files = [primary]
    extra = ssh_config.get("userknownhostsfile") or []
    for entry in [extra] if isinstance(extra, str) else extra:
        files += entry.split()
    return list(dict.fromkeys(files))


def check_known_hosts(name: str) -> str | None:
    """The path of a readable known_hosts file, None when there is none; one line when paramiko would choke on it.

    paramiko skips lines it does not understand, but raises (as a traceback) on a key or a hashed
    name that is not valid base64, and on a file that is not text or not a file.
    """
    path = os.path.expanduser(name)
    if os.path.isdir(path):
        raise DeployError(f"known_hosts {path} is a directory, not a file: move it aside (or point known_hosts "
                          "at a file) and run the command again")
    if not os.path.isfile(path):
        return None
    try:
        text = Path(path).read_bytes().decode()
    except UnicodeDecodeError as error:
        raise DeployError(f"known_hosts {path} is not a text file (byte {error.start} is not UTF-8): "
                          "move it aside and run the command again") from error
    except OSError as error:
        raise DeployError(f"cannot read known_hosts {path}: {error.strerror or error}") from error
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.strip().startswith("#"):
            continue  # as paramiko's HostKeys.load
        try:
            entry = HostKeyEntry.from_line(line, number)
            for hashed in (entry.hostnames if entry else []):
                if hashed.startswith("|1|"):
                    HostKeys.hash_host("check", hashed)
        except Exception as error:  # noqa: BLE001 - binascii.Error, AssertionError, InvalidHostKey, ...
            raise DeployError(
                f"known_hosts {path} line {number} is not a valid host key entry ({type(error).__name__}): "
                "fix or delete that line and run the command again") from error
    return path


def secure(client: SSHClient, ssh_config: dict, known_hosts: str, accept_new: bool, *, dry_run: bool = False,
           role: str = "", behind: str | None = None) -> None:
    """Load every known_hosts file into ``client`` and replace Fabric's auto-add policy with ours.

    ``role`` names what the client connects to in messages (``JUMP_HOST``); ``behind`` is what it
    is reached through, when that is not this machine (then ssh-keyscan cannot reach it either).
    """
    files = known_hosts_files(known_hosts, ssh_config)
    for name in files:
        path = check_known_hosts(name)
        if path:
            client.load_system_host_keys(path)
    accept_new = accept_new or str(ssh_config.get("stricthostkeychecking", "")).lower() == "accept-new"
    policy = (AcceptNew(files[0], role, behind, dry_run=dry_run) if accept_new
              else RefuseUnknown(files[0], role, behind))
    client.set_missing_host_key_policy(policy)


def route(conn: Connection) -> list[Connection]:
    """``conn``, then the ProxyJump ``Connection`` it is reached through, and that one's, nearest first.

    A ``ProxyCommand`` gateway (a string) ends the route: it is a program, not a connection of ours.
    """
    hops = [conn]
    while isinstance(hops[-1].gateway, Connection):
        hops.append(hops[-1].gateway)
    return hops


def describe(conn: Connection, role: str = "") -> str:
    return f"{role}{conn.host}:{conn.port}"


def secure_route(conn: Connection, known_hosts: str, accept_new: bool, *, dry_run: bool = False) -> None:
    """Check the host key of ``conn`` and of every jump host on its route with the same files and policy."""
    for hop in route(conn):
        gateway = hop.gateway
        behind = (describe(gateway, JUMP_HOST) if isinstance(gateway, Connection)
                  else "a ProxyCommand" if gateway else None)
        secure(hop.client, dict(hop.ssh_config), known_hosts, accept_new, dry_run=dry_run,
               role="" if hop is conn else JUMP_HOST, behind=behind)
