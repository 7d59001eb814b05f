"""Pure builders for `fab swarm.https`: certbot in the cluster's certbot task, the certificate secret of the
certs service (one task per node), and each node's nginx switched to https with a graceful reload.

The certbot task (on the manager) keeps /etc/letsencrypt in its volume and answers every node's ACME challenge
(each node's nginx proxies `/.well-known/acme-challenge/` to it). Its deploy hook (`certs-publish`, the nginx
image's swarm-certs.py) makes the certificate a Docker secret and points the certs service at it; each certs
task copies it into its node's volume, which that node's nginx reads at each handshake.
"""

from shlex import quote

from deploy.commands import certbot
from deploy.commands.certbot import ENTRYPOINT, STATE
from deploy.commands.swarm import service
from deploy.names import Names

CERTBOT_SERVICE, CERTS_SERVICE = "certbot", "certs"  # swarm.yml's services
TASK_FILE = "certs"  # the secret's file in a certs task: /run/secrets/certs
PUBLISH = f"{ENTRYPOINT} certs-publish"  # certbot's deploy hook, saved for renewals
COPIED = f"{STATE}/certs-sha256"  # written last by a certs task: the SHA-256 of the secret it copied
PLACEHOLDER = "no certificate yet\n"  # the certs secret before the first certificate (a secret is never empty)


def certs_secret(names: Names) -> str:
    """The name of the secret the certs service holds now ('' when the service does not exist yet)."""
    return (f"docker service inspect --format '{{{{range .Spec.TaskTemplate.ContainerSpec.Secrets}}}}"
            f"{{{{if eq .File.Name \"{TASK_FILE}\"}}}}{{{{.SecretName}}}}{{{{end}}}}{{{{end}}}}' "
            f"{service(names, CERTS_SERVICE)} 2>/dev/null || true")


def placeholder(names: Names) -> str:
    return names.scoped("certs_none")


def certonly(container: str, domains: list[str], email: str, *, staging: bool = False,
             server: str | None = None) -> str:
    """certbot certonly --webroot in the certbot task; the hook publishes to every node (now and at renewals)."""
    parts = [f"docker exec {quote(container)} {ENTRYPOINT} certbot",
             *certbot.order(domains, email, staging=staging, server=server)]
    parts.append(f"--deploy-hook {quote(PUBLISH)}")
    return " ".join(parts)


def publish(container: str, domains: list[str]) -> str:
    """The deploy hook run once more by hand: the lineage's certificate as the certs secret (idempotent)."""
    return (f"docker exec -e RENEWED_LINEAGE={quote('/etc/letsencrypt/live/' + domains[0])} "
            f"-e RENEWED_DOMAINS={quote(' '.join(domains))} {quote(container)} {PUBLISH}")


def parse_published(output: str) -> str:
    """The secret name from the hook's `certs: <name>` line ('' when there is none)."""
    found = [line.split(":", 1)[1].strip() for line in output.splitlines() if line.startswith("certs:")]
    return found[-1] if found else ""


def renew(container: str, cert_name: str) -> str:
    """Force a renewal now in the certbot task, with the settings saved at issuance (server, webroot, hook)."""
    return (f"docker exec {quote(container)} {ENTRYPOINT} certbot renew --cert-name {quote(cert_name)} "
            "--force-renewal --reuse-key --no-random-sleep-on-renew --non-interactive")


def copied(nginx: str) -> str:
    """The SHA-256 of the certs secret this node's copy came from, as nginx's container sees it ('' if none)."""
    return f"docker exec {quote(nginx)} cat {COPIED} 2>/dev/null || true"


def serve_https(nginx: str) -> str:
    """Render with the node's certificate, test, then one graceful reload (connections finish on old workers)."""
    script = f"{ENTRYPOINT} render && nginx -t 2>&1 && nginx -s reload"
    return f"docker exec {quote(nginx)} sh -c {quote(script)}"


def app_https(names: Names) -> str:
    """DJANGO_HTTPS=true in the app service: Swarm's rolling update, new tasks healthy before old ones stop."""
    return f"docker service update --detach --env-add DJANGO_HTTPS=true {service(names, names.alias)} >/dev/null"
