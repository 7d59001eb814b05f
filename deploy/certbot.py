"""Pure builders for `fab https`: certbot in a one-off container of the nginx image, and nginx's switch.

Certificates live in the ``<project>_letsencrypt`` volume (``/etc/letsencrypt``), the HTTP-01 files in
``<project>_acme`` (``/var/www/acme``, served by nginx at ``/.well-known/acme-challenge/``): both survive
image rebuilds and deploys. nginx's entrypoint (compose/production/nginx/entrypoint.sh) turns https on
for the names recorded in the volume while their certificate exists.
"""

from shlex import quote

ENTRYPOINT = "/mysite-entrypoint.sh"
WEBROOT = "/var/www/acme"
CA_IN_CONTAINER = "/etc/mysite/acme-ca.pem"  # where a one-off certbot sees --acme-ca-bundle
STORED_CA = "/etc/letsencrypt/mysite/acme-ca.pem"  # kept for renewals (the entrypoint's `certbot` uses it)
HTTPS_ENV = "DJANGO_HTTPS=true\n"
UNCHANGED = "unchanged"  # what `https-on` prints when https was already on for these names

# Run inside the nginx container (python3 and cryptography come with certbot): the certificate nginx
# actually serves for the name, as `key=value` lines.
SERVED = """\
import socket, ssl, sys
from cryptography import x509
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
with socket.create_connection(("127.0.0.1", 443), timeout=10) as raw:
    with ctx.wrap_socket(raw, server_hostname=sys.argv[1]) as tls:
        cert = x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))
after = getattr(cert, "not_valid_after_utc", None) or cert.not_valid_after
try:
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName)
except x509.ExtensionNotFound:
    names = []
print("serial=%x" % cert.serial_number)
print("expires=" + after.strftime("%Y-%m-%dT%H:%M:%SZ"))
print("names=" + ",".join(names))
print("issuer=" + cert.issuer.rfc4514_string())
"""


def volumes(project: str) -> str:
    return f"-v {project}_letsencrypt:/etc/letsencrypt -v {project}_acme:{WEBROOT}"


def certonly(project: str, image: str, names: list[str], email: str, *, staging: bool = False,
             server: str | None = None, ca_bundle: str | None = None) -> str:
    """certbot certonly --webroot in a one-off container of the nginx image; the lineage is named after names[0]."""
    parts = ["docker run --rm", f"--name {project}-certbot-certonly", volumes(project)]
    if ca_bundle:
        parts += [f"-v {quote(ca_bundle)}:{CA_IN_CONTAINER}:ro", f"-e REQUESTS_CA_BUNDLE={CA_IN_CONTAINER}"]
    parts += ["--entrypoint certbot", image, "certonly --webroot", f"-w {WEBROOT}", f"--cert-name {quote(names[0])}"]
    parts += [f"-d {quote(name)}" for name in names]
    parts += [f"--email {quote(email)}", "--agree-tos --non-interactive --no-eff-email"]
    if staging:
        parts.append("--staging")
    if server:
        parts.append(f"--server {quote(server)}")
    # saved in the renewal config: every renewal lets nginx's workers read the new key
    parts.append(f"--deploy-hook {quote(ENTRYPOINT + ' certperms')}")
    return " ".join(parts)


def renew(project: str, image: str, cert_name: str) -> str:
    """Force a renewal now, with the settings certbot saved at issuance (server, webroot, hook)."""
    return (f"docker run --rm --name {project}-certbot-renew {volumes(project)} {image} certbot renew "
            f"--cert-name {quote(cert_name)} --force-renewal --no-random-sleep-on-renew --non-interactive")


def store_ca(nginx: str, bundle: str) -> str:
    write = quote(f"mkdir -p /etc/letsencrypt/mysite && cat > {STORED_CA}")
    return f"docker exec -i {nginx} sh -c {write} < {quote(bundle)}"


def forget_ca(nginx: str) -> str:
    return f"docker exec {nginx} rm -f {STORED_CA}"


def https_on(nginx: str, names: list[str]) -> str:
    return f"docker exec {nginx} {ENTRYPOINT} https-on {' '.join(quote(n) for n in names)}"


def reload(nginx: str) -> str:
    # graceful: old workers finish their requests; only the http -> https switch needs it
    return f"docker exec {nginx} nginx -s reload"


def served(nginx: str, domain: str) -> str:
    return f"docker exec {nginx} python3 -c {quote(SERVED)} {quote(domain)}"


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
