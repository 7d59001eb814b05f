"""Docker Swarm on the cluster's nodes: membership, labels, secrets, the stack, one-off jobs, convergence.

The join token and secret values never appear in a command line: they reach the remote command on its
stdin, so neither `ps`, an error message nor a dry run shows them. `docker swarm join` only takes the
token as an argument, so a worker joins through the Engine API on its local socket instead (curl, the
request body on stdin).
"""

import json
from shlex import quote

from deploy.names import Names, label

STACK_FILE = "swarm.yml"
# the stack's other services, the same in every app's stack file (the app's own is named after it: Names.alias)
NGINX_SERVICE, POSTGRES_SERVICE = "nginx", "postgres"


def state() -> str:
    """'<LocalNodeState> <NodeID> <ControlAvailable>' of this node, e.g. 'active abc123 true'."""
    return "docker info --format '{{.Swarm.LocalNodeState}} {{.Swarm.NodeID}} {{.Swarm.ControlAvailable}}'"


def parse_state(text: str) -> tuple[str, str, bool]:
    words = text.split()
    return (words[0] if words else "", words[1] if len(words) > 1 else "", words[2:3] == ["true"])


def private_address() -> str:
    """The address this node's traffic leaves from (a route lookup: no packet is sent)."""
    return "ip -4 route get 1.1.1.1 | sed -n 's/.* src \\([0-9.]*\\).*/\\1/p'"


def init(address: str) -> str:
    return f"docker swarm init --advertise-addr {quote(address)} >/dev/null"


def join_token() -> str:
    return "docker swarm join-token -q worker"


def rotate_join_token() -> str:
    """A new worker join token: the one handed out no longer joins (nodes already in stay; the new one is not shown)."""
    return "docker swarm join-token --rotate -q worker >/dev/null"


CURL_UNIX_SOCKET = (7, 40)  # the first curl with --unix-socket


def curl_version() -> str:
    """'curl 7.88.1 (x86_64-pc-linux-gnu) ...', or nothing when curl is missing."""
    return "curl --version 2>/dev/null | head -n 1"


def parse_curl_version(text: str) -> tuple[int, ...]:
    words = text.split()
    parts = words[1].split(".") if len(words) > 1 and words[0] == "curl" else []
    return tuple(int(part) for part in parts[:2] if part.isdigit())


def api_version() -> str:
    """The Engine API version this node's daemon speaks (1.41 for Docker 20.10, 1.45 for Docker 26)."""
    return "docker version --format '{{.Server.APIVersion}}'"


def join(api: str) -> str:
    """Join as a worker: ``POST /swarm/join`` on the local socket with the request (``join_request``) on stdin.

    Prints the daemon's answer, then the HTTP status on a line of its own (200: joined).
    """
    return (f"curl -sS --unix-socket /var/run/docker.sock -X POST -H 'Content-Type: application/json' "
            f"--data-binary @- -w '\\n%{{http_code}}' http://localhost/v{quote(api)}/swarm/join")


def join_request(token: str, manager: str, address: str) -> str:
    """The body of ``join``: what `docker swarm join --advertise-addr ADDRESS MANAGER:2377` sends."""
    return json.dumps({"ListenAddr": "0.0.0.0:2377", "AdvertiseAddr": address, "RemoteAddrs": [f"{manager}:2377"],
                       "JoinToken": token})


def parse_join(output: str) -> tuple[str, str]:
    """(HTTP status, the daemon's message) from ``join``'s output."""
    body, _, code = output.rstrip("\n").rpartition("\n")
    try:
        message = json.loads(body).get("message", "") if body.strip() else ""
    except (ValueError, AttributeError):
        message = body.strip()
    return code.strip(), message


def nodes() -> str:
    """'ID HOSTNAME STATUS AVAILABILITY ADDRESS LABELS' of every node (on the manager)."""
    return ("docker node ls -q | xargs docker node inspect --format "
            "'{{.ID}} {{.Description.Hostname}} {{.Status.State}} {{.Spec.Availability}} {{.Status.Addr}} "
            "{{range $k, $v := .Spec.Labels}}{{$k}}={{$v}},{{end}}'")


def label_db(project: str, node: str) -> str:
    """The node that holds this app's database (swarm.yml's placement constraint reads the label)."""
    return f"docker node update --label-add {label(project, 'db')}=true {quote(node)} >/dev/null"


def unlabel_db(project: str, node: str) -> str:
    return f"docker node update --label-rm {label(project, 'db')} {quote(node)} >/dev/null"


def drain(node: str) -> str:
    return f"docker node update --availability drain {quote(node)} >/dev/null"


def leave() -> str:
    return "docker swarm leave >/dev/null"


def remove_node(node: str) -> str:
    return f"docker node rm --force {quote(node)} >/dev/null"


def secret_exists(name: str) -> str:
    return f"docker secret inspect {quote(name)} >/dev/null 2>&1"


def create_secret(name: str, project: str) -> str:
    """A secret whose value comes on stdin."""
    return f"docker secret create --label {label(project, 'project')}={quote(project)} {quote(name)} - >/dev/null"


def secrets(project: str) -> str:
    return f"docker secret ls --filter label={label(project, 'project')}={quote(project)} --format '{{{{.Name}}}}'"


def remove_secrets(names: list[str]) -> str:
    """Remove the secrets no service uses any more (one still in use is refused by Docker and stays)."""
    return f"docker secret rm {' '.join(quote(n) for n in names)} >/dev/null 2>&1; true"


def stack_deploy(names: Names, folder: str, env: dict[str, str]) -> str:
    assignments = " ".join(f"{key}={quote(value)}" for key, value in env.items())
    return (f"cd {quote(folder)} && {assignments} docker stack deploy --resolve-image never --prune "
            f"-c {STACK_FILE} {quote(names.project)} >/dev/null")


def service(names: Names, name: str) -> str:
    """A service of the stack by its compose name: ``nginx`` -> ``mysite_nginx``."""
    return names.scoped(name)


def service_exists(names: Names, name: str) -> str:
    return f"docker service inspect {service(names, name)} >/dev/null 2>&1"


def service_states(names: Names, name: str) -> str:
    """'NODE STATE' of each task of one of the stack's services."""
    return f"docker service ps --format '{{{{.Node}}}} {{{{.CurrentState}}}}' {service(names, name)}"


def update_state(names: Names) -> str:
    """The app service's update state (updating, completed, rollback_started, rollback_completed, paused...)."""
    return (f"docker service inspect --format '{{{{if .UpdateStatus}}}}{{{{.UpdateStatus.State}}}}"
            f"{{{{end}}}}' {service(names, names.alias)}")


def service_image(names: Names, name: str) -> str:
    return (f"docker service inspect --format '{{{{.Spec.TaskTemplate.ContainerSpec.Image}}}}' "
            f"{service(names, name)} 2>/dev/null || true")


def container_spec(names: Names, name: str) -> str:
    """The service's container spec as JSON (image, env, secrets' names; never their values); '' when none."""
    return (f"docker service inspect --format '{{{{json .Spec.TaskTemplate.ContainerSpec}}}}' "
            f"{service(names, name)} 2>/dev/null || true")


def tasks(names: Names) -> str:
    """'NODE SERVICE IMAGE STATE' of every task meant to run, per service of the stack."""
    return (f"docker stack ps {quote(names.project)} --filter desired-state=running --format "
            "'{{.Node}} {{.Name}} {{.Image}} {{.CurrentState}}'")


def converged(names: Names) -> str:
    """Exits 0 when every service runs as many tasks as it should (`docker service ls` REPLICAS n/n)."""
    return (f"docker service ls --filter label=com.docker.stack.namespace={quote(names.project)} "
            "--format '{{.Replicas}}' | awk -F/ '$1 != $2 {bad=1} END {exit bad}'")


def job(names: Names, name: str, image: str, command: str, secrets_: dict[str, str], env: dict[str, str]) -> str:
    """A one-off task on the stack's overlay network, with the app's secrets: it runs once, then stays done."""
    parts = [f"docker service create --detach --quiet --name {quote(name)} --mode replicated-job",
             "--restart-condition none", f"--network {names.network}",
             f"--label {names.label('project')}={quote(names.project)}"]
    parts += [f"--secret source={quote(source)},target={quote(target)}" for target, source in secrets_.items()]
    env = {**env, "DJANGO_SETTINGS_MODULE": names.container_env["DJANGO_SETTINGS_MODULE"]}  # as a one-off's
    parts += [f"--env {quote(f'{key}={value}')}" for key, value in env.items()]
    parts += [quote(image), command]
    return " ".join(parts) + " >/dev/null"


def job_state(name: str) -> str:
    return f"docker service ps --format '{{{{.CurrentState}}}}' {quote(name)} | head -n 1"


def job_logs(name: str) -> str:
    return f"docker service logs --raw {quote(name)} 2>&1"


def remove_service(name: str) -> str:
    return f"docker service rm {quote(name)} >/dev/null 2>&1; true"


def rollback(names: Names) -> str:
    return f"docker service rollback --detach {service(names, names.alias)} >/dev/null"


def logs(names: Names, name: str, lines: int, follow: bool = False) -> str:
    return f"docker service logs --tail {int(lines)}{' -f' if follow else ''} {service(names, name)}"


def task_container(names: Names, name: str) -> str:
    """The ID of a running container of the service on this node ('' when none runs here)."""
    return (f"docker ps -q --filter label=com.docker.swarm.service.name={service(names, name)} "
            "--filter status=running | head -n 1")


def nginx_tag(image_id: str) -> str:
    """nginx is tagged by its own image ID: a code-only deploy leaves it, and so its published port, alone."""
    return "id-" + image_id.removeprefix("sha256:")[:12]
