"""Pure builders for `fab https`: certbot in a one-off container of the nginx image, and nginx's switch.

Certificates live in the ``<project>_letsencrypt`` volume (``/etc/letsencrypt``), the HTTP-01 files in
``<project>_acme`` (``/var/www/acme``, served by nginx at ``/.well-known/acme-challenge/``): both survive
image rebuilds and deploys. nginx's entrypoint (compose/production/nginx/entrypoint.sh) turns https on
for the names recorded in the volume while their certificate exists.
"""

from shlex import quote

from deploy.commands.docker import python
from deploy.names import TOOLKIT, Names
from deploy.scripts import source

# The nginx image's own files (compose/production/nginx): the toolkit's names, the same whatever the app
ENTRYPOINT = f"/{TOOLKIT}-entrypoint.sh"
STATE = f"/etc/letsencrypt/{TOOLKIT}"  # the entrypoint's state in the letsencrypt volume: https names, CA bundle
WEBROOT = "/var/www/acme"
CA_IN_CONTAINER = f"/etc/{TOOLKIT}/acme-ca.pem"  # where a one-off certbot sees --acme-ca-bundle
STORED_CA = f"{STATE}/acme-ca.pem"  # kept for renewals (the entrypoint's `certbot` uses it)
HTTPS_ENV = "DJANGO_HTTPS=true\n"
UNCHANGED = "unchanged"  # what `https-on` prints when https was already on for these names

def volumes(names: Names) -> str:
    return f"-v {names.volume('letsencrypt')}:/etc/letsencrypt -v {names.volume('acme')}:{WEBROOT}"


def order(domains: list[str], email: str, *, staging: bool = False, server: str | None = None) -> list[str]:
    """The words of one `certbot certonly --webroot` order for ``domains`` (the lineage named after the first)."""
    parts = ["certonly --webroot", f"-w {WEBROOT}", f"--cert-name {quote(domains[0])}"]
    parts += [f"-d {quote(domain)}" for domain in domains]
    # --reuse-key (saved for renewals): nginx reads the certificate and then the key at each handshake, from the
    # path a renewal renames a new file onto; with one key for every certificate, any pair it reads matches
    parts += [f"--email {quote(email)}", "--agree-tos --non-interactive --no-eff-email --reuse-key"]
    if staging:
        parts.append("--staging")
    if server:
        parts.append(f"--server {quote(server)}")
    return parts


def certonly(names: Names, image: str, domains: list[str], email: str, *, staging: bool = False,
             server: str | None = None, ca_bundle: str | None = None) -> str:
    """certbot certonly --webroot in a one-off container of the nginx image; the lineage is named after domains[0]."""
    parts = ["docker run --rm", f"--name {names.one_off('certbot-certonly')}", volumes(names)]
    if ca_bundle:
        parts += [f"-v {quote(ca_bundle)}:{CA_IN_CONTAINER}:ro", f"-e REQUESTS_CA_BUNDLE={CA_IN_CONTAINER}"]
    parts += ["--entrypoint certbot", image, *order(domains, email, staging=staging, server=server)]
    # saved in the renewal config: every renewal lets nginx's workers read the new key
    parts.append(f"--deploy-hook {quote(ENTRYPOINT + ' certperms')}")
    return " ".join(parts)


def renew(names: Names, image: str, cert_name: str) -> str:
    """Force a renewal now, with the settings certbot saved at issuance (server, webroot, hook)."""
    return (f"docker run --rm --name {names.one_off('certbot-renew')} {volumes(names)} {image} certbot renew "
            f"--cert-name {quote(cert_name)} --force-renewal --reuse-key --no-random-sleep-on-renew --non-interactive")


def store_ca(nginx: str, bundle: str) -> str:
    write = quote(f"mkdir -p {STATE} && cat > {STORED_CA}")
    return f"docker exec -i {nginx} sh -c {write} < {quote(bundle)}"


def forget_ca(nginx: str) -> str:
    return f"docker exec {nginx} rm -f {STORED_CA}"


def https_on(nginx: str, domains: list[str]) -> str:
    return f"docker exec {nginx} {ENTRYPOINT} https-on {' '.join(quote(d) for d in domains)}"


def reload(nginx: str) -> str:
    # graceful: old workers finish their requests; only the http -> https switch needs it
    return f"docker exec {nginx} nginx -s reload"


def served(nginx: str, domain: str, addr: str = "0.0.0.0", port: int = 443) -> str:  # noqa: S104 - every address
    """The certificate nginx serves for ``domain`` (deploy/scripts/served_cert.py), as key=value lines.

    nginx binds the host's ``addr``:``port`` itself (the host's network): asked there, or on 127.0.0.1 for 0.0.0.0."""
    host = "127.0.0.1" if addr == "0.0.0.0" else addr  # noqa: S104 - every address
    return f"docker exec {nginx} {python(source('served_cert'), domain, host, str(port), interpreter='python3')}"


def parse_served(text: str) -> dict[str, str]:
    found = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key in ("serial", "expires", "names", "issuer"):
            found[key] = value
    return found


def write_env(path: str) -> str:
    tmp = quote(path + ".tmp")
    return f"umask 077 && printf %s {quote(HTTPS_ENV)} > {tmp} && mv -f {tmp} {quote(path)}"


def app_https(container: str) -> str:
    """Prints true when the app container runs with DJANGO_HTTPS=true."""
    return f"docker exec {container} printenv DJANGO_HTTPS || true"
