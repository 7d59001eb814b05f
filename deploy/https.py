"""`fab https`: a Let's Encrypt certificate with certbot (HTTP-01 on nginx's webroot), nginx on 443, and
Django told it is behind https, without dropping a request.

Every input is checked locally, before any connection. A failed issuance changes nothing: nginx is
neither re-rendered nor reloaded and keeps serving http. After a certificate exists, nginx's
entrypoint serves https at every start (deploys included); the `certbot` service of production.yml
renews it, and nginx reads the certificate at each handshake, so a renewal needs no reload.
"""

import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from deploy import acme, config, envfile, lock, releases
from deploy.commands import certbot, compose, docker, files
from deploy.commands import releases as commands
from deploy.config import DeployConfig
from deploy.errors import DeployError, RemoteCommandFailed
from deploy.host import Host
from deploy.names import Names
from deploy.output import say, step, tail
from deploy.preflight import docker_ready
from deploy.switch import nginx_name, restart

LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
LOG_LINES = 15


@dataclass(frozen=True)
class Request:
    domain: str
    email: str = ""
    www: bool = False
    staging: bool = False
    acme_server: str = ""
    ca_bundle: str = ""
    status: bool = False
    renew: bool = False

    @property
    def names(self) -> list[str]:
        return [self.domain, f"www.{self.domain}"] if self.www else [self.domain]

    @property
    def issuing(self) -> bool:
        return not (self.status or self.renew)

    @property
    def ca_name(self) -> str:
        return self.acme_server or ("Let's Encrypt staging" if self.staging else "Let's Encrypt")


# --- local checks (before any connection) ------------------------------------------------------

def domain_problem(domain: str) -> str | None:
    labels = domain.split(".")
    if len(domain) > 253 or len(labels) < 2 or not all(LABEL.match(label) for label in labels):
        return "is not a domain name"
    if labels[-1].isdigit():
        return "is an IP address; certificates are issued for domain names"
    return None


def allowed(name: str, hosts: list[str]) -> bool:
    """Django's rule for DJANGO_ALLOWED_HOSTS, without `*` (nginx only serves listed names)."""
    return any(name == host or (host.startswith(".") and (name == host[1:] or name.endswith(host)))
               for host in hosts)


def check(env: envfile.EnvFile, *, domain: str | None = None, email: str | None = None, www: bool = False,
          staging: bool = False, acme_server: str | None = None, acme_ca_bundle: str | None = None,
          status: bool = False, renew: bool = False) -> Request:
    """Every input checked; each bad one is one DeployError line and nothing has changed anywhere."""
    given = (domain or "").strip().lower().rstrip(".")
    if not given:
        given = env.domain.lower()
        say(f"    --domain not given: using {given}, the first entry of DJANGO_ALLOWED_HOSTS in {env.path}")
    if "://" in given or "/" in given or ":" in given:
        raise DeployError(f"--domain {domain!r} is not a domain name: give the bare name, e.g. --domain example.com "
                          "(no scheme, port or path)")
    problem = domain_problem(given)
    if problem:
        raise DeployError(f"--domain {given!r} {problem}: give the site's name, e.g. --domain example.com")
    hosts = [h.strip().lower() for h in env.values.get("DJANGO_ALLOWED_HOSTS", "").split(",") if h.strip()]
    for name in [given, f"www.{given}"] if www else [given]:
        if not allowed(name, hosts):
            raise DeployError(f"{name} is not in DJANGO_ALLOWED_HOSTS of {env.path} ({','.join(hosts)}): add it "
                              "there (Django and nginx serve only the names listed), `fab deploy`, then run "
                              "`fab https` again")
    request = Request(given, (email or "").strip(), www, staging, (acme_server or "").strip(),
                      acme_ca_bundle or "", status, renew)
    if not request.issuing:
        return request
    if not request.email:
        raise DeployError("--email is missing: the ACME server (Let's Encrypt) needs an address for expiry "
                          "notices, e.g. --email you@example.com")
    if not EMAIL.match(request.email):
        raise DeployError(f"--email {request.email!r} does not look like an email address: "
                          "pass one that receives mail, e.g. --email you@example.com")
    if request.acme_server:
        url = urlsplit(request.acme_server)
        if url.scheme != "https" or not url.hostname:
            raise DeployError(f"--acme-server {request.acme_server!r} is not an https:// URL: give the ACME "
                              "directory, e.g. https://acme.example.com/directory")
        if staging:
            raise DeployError("--staging and --acme-server both choose the ACME server: pass only one")
    if request.ca_bundle:
        path = Path(request.ca_bundle)
        try:
            readable = path.is_file()
        except OSError as error:  # a name too long for the file system, say
            raise DeployError(f"--acme-ca-bundle {request.ca_bundle[:80]!r}: {error.strerror}: pass the PEM file of "
                              "the CA that signed the ACME server's certificate") from None
        if not readable:
            raise DeployError(f"--acme-ca-bundle {request.ca_bundle}: no such file: pass the PEM file of the "
                              "CA that signed the ACME server's certificate")
        if b"-----BEGIN CERTIFICATE-----" not in path.read_bytes():
            raise DeployError(f"--acme-ca-bundle {request.ca_bundle} holds no PEM certificate "
                              "(-----BEGIN CERTIFICATE-----): pass the CA's certificate in PEM form")
    return request


def check_context(c: Any, **options: Any) -> Request:
    """check() with the env file fabric.yaml/MYSITE_ENV_FILE name, read from the project folder."""
    root = releases.repo_root()
    return check(envfile.load(os.path.join(root, config.from_context(c).env_file)), **options)


# --- the steps on the server -------------------------------------------------------------------

@dataclass(frozen=True)
class Site:
    names: Names
    release: str
    nginx: str
    kind: str  # compose 'v1' or 'v2'

    @property
    def image(self) -> str:
        return self.names.nginx_image(self.release)


def preflight(host: Host, config: DeployConfig) -> Site:
    with step("preflight: docker, the current release and nginx on the server"):
        kind = docker_ready(host)
        names = Names.of(config, host.home)
        current = releases.parse_current(host.probe(commands.read_current(names)).stdout)
        if not current:
            if not host.dry_run:
                raise DeployError(f"nothing is deployed on {host.name} yet: run `fab deploy` first (nginx must "
                                  "serve the ACME challenge)")
            current = "CURRENT"
        nginx = nginx_name(host, names)
        if not nginx:
            if not host.dry_run:
                raise DeployError("nginx is not running: run `fab status`, then `fab deploy`")
            nginx = names.default_nginx
        say(f"    release {current}, nginx {nginx}")
    return Site(names, current, nginx, kind)


def show(host: Host, site: Site, domain: str) -> dict[str, str]:
    """The certificate nginx serves for ``domain`` right now (serial, expiry, names, issuer)."""
    config = site.names.config
    result = host.run(certbot.served(site.nginx, domain, config.http_addr, config.https_port), warn=True)
    found = certbot.parse_served(result.stdout)
    if result.failed or "serial" not in found:
        if host.dry_run:
            return {}
        last = (result.stdout + result.stderr).strip().splitlines()[-1:] or ["no answer"]
        raise DeployError(f"nginx serves no certificate for {domain} on {config.https_port} ({last[0]}): "
                          "run `fab https` to obtain one")
    expires = datetime.strptime(found["expires"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    days = (expires - datetime.now(UTC)).days
    say(f"    certificate served for {domain}: serial {found['serial']}, expires {found['expires']} "
        f"(in {days} days), names {found.get('names', '?')}, issuer {found.get('issuer', '?')}")
    return found


def issue(host: Host, site: Site, request: Request) -> None:
    bundle = site.names.ca_bundle if request.ca_bundle else None
    if bundle:
        with step(f"upload the ACME CA bundle to {bundle}"):
            host.put(request.ca_bundle, bundle)
            host.run(files.chmod(bundle, 0o644))
    with step(f"obtain a certificate for {', '.join(request.names)} from {request.ca_name} "
              "(certbot, HTTP-01 on nginx's webroot)"):
        command = certbot.certonly(site.names, site.image, request.names, request.email,
                                   staging=request.staging, server=request.acme_server or None, ca_bundle=bundle)
        acme.order(host, command, request.names, "the site", "the names point at this server and port 80 is open")
    with step("keep the ACME CA bundle for renewals" if bundle else "renewals use the system's CAs"):
        host.run(certbot.store_ca(site.nginx, bundle) if bundle else certbot.forget_ca(site.nginx))


def serve_https(host: Host, site: Site, request: Request) -> None:
    with step(f"nginx: serve {', '.join(request.names)} over https (config tested, then one graceful reload)"):
        try:
            result = host.run(certbot.https_on(site.nginx, request.names))
        except RemoteCommandFailed as error:
            tail("nginx output", error.output, LOG_LINES)
            raise DeployError("nginx rejected the https config (output above); it keeps serving as before") from None
        if certbot.UNCHANGED in result.stdout:
            say("    https was already on for these names: no reload")
        else:
            host.run(certbot.reload(site.nginx))


def start_renewals(host: Host, site: Site) -> None:
    with step("start the certbot service (renews due certificates twice a day; nginx needs no reload)"):
        host.run(compose.stack(site.names, site.release, compose.START_CERTBOT, kind=site.kind), timeout=600)


def tell_django(host: Host, site: Site, domain: str) -> None:
    """DJANGO_HTTPS=true in shared/.envs/.https (read by every app container), then a zero-downtime restart."""
    names = site.names
    with step(f"Django behind https: DJANGO_HTTPS=true in {names.https_env}"):
        host.run(certbot.write_env(names.https_env))
    found = docker.parse_containers(host.probe(docker.app_containers(names.project)).stdout)
    running = [name for name, up in found.items() if up]
    if running and all(host.probe(certbot.app_https(n)).stdout.strip() == "true" for n in running):
        say("    the app already runs with DJANGO_HTTPS=true: no restart")
        return
    restart(host, names, site.release, domain, site.nginx, running, aside="before-https")


def https(host: Host, config: DeployConfig, request: Request) -> None:
    site = preflight(host, config)
    if request.renew:  # shows the certificate before and after
        renew(host, site, request)
        return
    if request.status:
        show(host, site, request.domain)
        return
    with lock.held(host, site.names, lock.holder(request.domain, action="https")):
        issue(host, site, request)
        serve_https(host, site, request)
        start_renewals(host, site)
        tell_django(host, site, request.domain)
    with step(f"check the certificate served for {request.domain}"):
        show(host, site, request.domain)
    say(f"https://{request.domain}/ is served over https; renewals are automatic (`fab https --status`)")


def renew(host: Host, site: Site, request: Request) -> None:
    with step(f"the certificate served for {request.domain} now"):
        before = show(host, site, request.domain)
    with step(f"force a renewal of {request.domain} (certbot renew; nginx reads the new files, no reload)"):
        try:
            host.run(certbot.renew(site.names, site.image, request.domain), timeout=900)
        except RemoteCommandFailed as error:
            tail("certbot output", error.output, LOG_LINES)
            raise DeployError(f"certbot could not renew {request.domain} (output above); the current certificate "
                              "keeps being served") from None
    with step(f"the certificate served for {request.domain} after the renewal"):
        after = show(host, site, request.domain)
    if before and after.get("serial") == before.get("serial"):
        raise DeployError(f"nginx still serves serial {before['serial']} after the renewal: check `fab logs "
                          "--service nginx`")
