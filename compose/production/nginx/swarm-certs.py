"""certbot's deploy hook on a cluster (`/mysite-entrypoint.sh certs-publish`, in the certbot task on the manager).

The certificate certbot just issued or renewed (RENEWED_LINEAGE, RENEWED_DOMAINS) becomes a Docker secret named
after a hash of its content, and the stack's `certs` service (one task per node) is pointed at it: Swarm sends the
secret to every node over its mutual TLS, and each node's certs task copies it where that node's nginx reads it
at each handshake. Docker's API on the manager's socket (mounted into this task) is the only way in; the standard
library speaks it. Prints `certs: <secret name>`. Old certificate secrets no service uses are removed.
"""

import base64
import hashlib
import http.client
import json
import os
import socket
import sys
from urllib.parse import quote

DOCKER_SOCKET = "/var/run/docker.sock"
TARGET = "certs"  # the secret's file in the certs tasks: /run/secrets/certs
HEADER = "# mysite certs: "  # the first line: the names, the certificate's own first (entrypoint.sh certs-copy)


class UnixConnection(http.client.HTTPConnection):
    def __init__(self) -> None:
        super().__init__("localhost", timeout=60)

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(60)
        self.sock.connect(DOCKER_SOCKET)


def api(method: str, path: str, body: object = None, ok: tuple[int, ...] = (200, 201)) -> object:
    connection = UnixConnection()
    try:
        connection.request(method, path, body=None if body is None else json.dumps(body),
                           headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    if response.status not in ok:
        sys.exit(f"certs-publish: Docker answered {response.status} to {method} {path}: {data[:300]!r}")
    return json.loads(data) if data.strip() else None


def bundle(lineage: str, domains: list[str]) -> bytes:
    """The secret's content: the names line, the chain, the key (what certs-copy reads)."""
    first = os.path.basename(lineage.rstrip("/"))
    names = [first, *(name for name in domains if name != first)]
    with open(os.path.join(lineage, "fullchain.pem"), "rb") as chain, \
            open(os.path.join(lineage, "privkey.pem"), "rb") as key:
        return (HEADER + " ".join(names) + "\n").encode() + chain.read().rstrip(b"\n") + b"\n" + key.read()


def stack() -> str:
    """This task's stack (its container's namespace label): the certs service is `<stack>_certs`."""
    container = api("GET", f"/containers/{quote(socket.gethostname())}/json")
    name = container["Config"]["Labels"].get("com.docker.stack.namespace", "")
    if not name:
        sys.exit("certs-publish: this container is not a task of a stack (no com.docker.stack.namespace label)")
    return name


def publish(project: str, data: bytes) -> str:
    service_name = f"{project}_certs"
    name = f"{service_name}_{hashlib.sha256(data).hexdigest()[:12]}"
    found = api("GET", "/secrets?filters=" + quote(json.dumps({"name": [name]})))
    match = [secret for secret in found if secret["Spec"]["Name"] == name]
    if match:
        secret_id = match[0]["ID"]
    else:
        secret_id = api("POST", "/secrets/create", {
            "Name": name, "Data": base64.b64encode(data).decode(),
            "Labels": {f"{project}.project": project, f"{project}.certs": "true"}})["ID"]
    service = api("GET", f"/services/{quote(service_name)}")
    spec = service["Spec"]
    container = spec["TaskTemplate"]["ContainerSpec"]
    others = [ref for ref in container.get("Secrets") or [] if ref["File"]["Name"] != TARGET]
    current = [ref for ref in container.get("Secrets") or [] if ref["File"]["Name"] == TARGET]
    if not (current and current[0]["SecretName"] == name):
        # the same file as swarm.yml's reference, so a later `docker stack deploy` sees no change
        container["Secrets"] = [*others, {"File": {"Name": TARGET, "UID": "0", "GID": "0", "Mode": 0o444},
                                          "SecretID": secret_id, "SecretName": name}]
        api("POST", f"/services/{service['ID']}/update?version={service['Version']['Index']}", spec)
    for secret in api("GET", "/secrets?filters=" + quote(json.dumps({"label": [f"{project}.certs=true"]}))):
        if secret["Spec"]["Name"] != name:  # Docker refuses one a service still uses: it stays
            api("DELETE", f"/secrets/{secret['ID']}", ok=(200, 204, 400, 404, 409, 500))
    return name


def main() -> None:
    lineage = os.environ.get("RENEWED_LINEAGE", "")
    if not lineage:
        sys.exit("certs-publish: RENEWED_LINEAGE is not set (certbot sets it for a deploy hook)")
    print(f"certs: {publish(stack(), bundle(lineage, os.environ.get('RENEWED_DOMAINS', '').split()))}")


if __name__ == "__main__":
    main()
