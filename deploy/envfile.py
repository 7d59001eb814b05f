"""Parse and validate `.envs/.production` locally, render the docker-safe copy that is uploaded, create a new one.

Docker's ``--env-file`` passes quotes through literally and has no multi-line values, so the file is
checked here, before anything on the server changes, and uploaded in one canonical shape.
"""

import ipaddress
import os
import re
import secrets
import string
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from deploy.djangoapp.keycheck import secret_key_problem
from deploy.errors import DeployError

KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# What Django's ALLOWED_HOSTS can match: a name or IPv4 (optionally with a leading dot), [IPv6], or *
NGINX_KEYS = ("DJANGO_ALLOWED_HOSTS", "MYSITE_DOMAIN")  # compose/production/nginx/entrypoint.sh
LITESTREAM_KEYS = ("LITESTREAM_SFTP_KEY", "LITESTREAM_SFTP_PASSWORD")  # the off-site backup's secrets (BACKUPS.md)
POSTGRES_KEYS = ("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB", "POSTGRES_INITDB_ARGS")  # the image's contract
# C.UTF-8 sorts names as SQLite does (by code point), whatever the server's own locale
INITDB_ARGS = "--encoding=UTF8 --locale=C.UTF-8"
BUNDLED_POSTGRES = "postgres"  # production.yml's service: a DATABASE_URL with this host uses it
SQLITE, BUNDLED, EXTERNAL = "sqlite", "bundled", "external"
HOST = re.compile(r"^(\*|\.?[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])$")


@dataclass(frozen=True)
class EnvFile:
    path: str
    values: dict[str, str]

    @property
    def domain(self) -> str:
        """The site's domain: the first usable entry of DJANGO_ALLOWED_HOSTS."""
        return first_host(self.values.get("DJANGO_ALLOWED_HOSTS", ""))

    def render(self) -> str:
        """What the app's containers read: everything but Litestream's secrets."""
        return render({key: value for key, value in self.values.items() if key not in LITESTREAM_KEYS})

    def render_for_litestream(self) -> str:
        """What the replication reads: its LITESTREAM_SFTP_* secrets only."""
        return render({key: value for key, value in self.values.items() if key in LITESTREAM_KEYS})

    def render_for_nginx(self) -> str:
        """The few values nginx reads (its server names), so its container never holds the secret key."""
        return render({key: value for key, value in self.values.items() if key in NGINX_KEYS})

    def render_for_postgres(self) -> str:
        """What the bundled PostgreSQL reads: its POSTGRES_* values only."""
        return render({key: value for key, value in self.values.items() if key in POSTGRES_KEYS})

    @property
    def database(self) -> str:
        """SQLITE (no DATABASE_URL), BUNDLED (production.yml's postgres service) or EXTERNAL (elsewhere)."""
        return database_kind(self.values.get("DATABASE_URL", ""))


def database_kind(url: str) -> str:
    if not url.strip():
        return SQLITE
    return BUNDLED if urlsplit(url.strip()).hostname == BUNDLED_POSTGRES else EXTERNAL


def first_host(allowed_hosts: str) -> str:
    for host in allowed_hosts.split(","):
        host = host.strip().lstrip(".")
        if host and host != "*":
            return host
    return ""


def _unquote(value: str, where: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    if value[:1] in ("'", '"'):
        raise DeployError(f"{where}: the value opens a quote it never closes (multi-line values are not "
                          "supported by docker's env files): put the whole value on one line")
    return value


def parse(text: str, path: str = ".envs/.production") -> dict[str, str]:
    """KEY=value lines; blank lines and ``#`` comments skipped; ``export`` and matching quotes stripped."""
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{path} line {number}"
        if line.startswith("export "):
            line = line[len("export "):].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not KEY.match(key):
            raise DeployError(f"{where} is not KEY=value: fix or remove it (comments start with #)")
        value = _unquote(value, where)
        if "\n" in value or "\r" in value or "\x00" in value:
            raise DeployError(f"{where}: {key} contains a newline; docker env files cannot carry one")
        values[key] = value
    return values


def render(values: dict[str, str]) -> str:
    """The canonical file docker reads: ``KEY=value`` lines, no quotes, no comments."""
    lines = []
    for key, value in values.items():
        if not KEY.match(key) or any(ch in value for ch in "\r\n\x00"):
            raise DeployError(f"{key} cannot be written to a docker env file: keep it on one line")
        lines.append(f"{key}={value}\n")
    return "".join(lines)


def validate(values: dict[str, str], path: str) -> None:
    problem = secret_key_problem(values.get("DJANGO_SECRET_KEY"))
    if problem:
        raise DeployError(f"{path}: {problem}")
    hosts = values.get("DJANGO_ALLOWED_HOSTS", "")
    for host in (h.strip() for h in hosts.split(",")):
        if host and not HOST.match(host):
            raise DeployError(f"{path}: DJANGO_ALLOWED_HOSTS entry {host!r} is not a host name: list bare names "
                              "separated by commas, e.g. DJANGO_ALLOWED_HOSTS=example.com,www.example.com "
                              "(no scheme, port, path or spaces)")
    if not first_host(hosts):
        raise DeployError(f"{path}: DJANGO_ALLOWED_HOSTS is not set: add your domain, "
                          "e.g. DJANGO_ALLOWED_HOSTS=example.com (its first entry is the site's domain)")
    validate_database(values, path)


def validate_database(values: dict[str, str], path: str) -> None:
    """A DATABASE_URL is PostgreSQL's; the bundled one's password and names match its POSTGRES_* values."""
    url = values.get("DATABASE_URL", "").strip()
    if not url:
        return
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql") or not parts.hostname or not parts.path.strip("/"):
        raise DeployError(f"{path}: DATABASE_URL must be postgres://USER:PASSWORD@HOST:5432/NAME (PostgreSQL); "
                          "leave it out for SQLite")
    if parts.hostname != BUNDLED_POSTGRES:
        return
    expected = {"POSTGRES_USER": unquote(parts.username or ""), "POSTGRES_PASSWORD": unquote(parts.password or ""),
                "POSTGRES_DB": parts.path.strip("/")}
    for key, value in expected.items():
        if values.get(key, "") != value:
            raise DeployError(f"{path}: DATABASE_URL points at the bundled PostgreSQL but {key} "
                              f"{'is missing' if key not in values else 'does not match it'}: set {key} to "
                              "what DATABASE_URL says (`inv production.env --postgres` writes both)")


def check_settings_module(env: EnvFile, settings: str) -> None:
    """The app's settings module is fabric.yaml's ``app: settings`` (a deploy's -e wins over the env file): one that
    says otherwise would be ignored without a word."""
    found = env.values.get("DJANGO_SETTINGS_MODULE")
    if found is not None and found != settings:
        raise DeployError(f"{env.path}: DJANGO_SETTINGS_MODULE={found} but fabric.yaml's app settings is {settings}: "
                          "name the settings module once, as `app: settings:` in fabric.yaml, and remove the line")


def load(path: str | Path) -> EnvFile:
    """Read, parse and validate the production env file; every problem is one line with the fix."""
    path = Path(path)
    shown = str(path)
    if not path.is_file():
        raise DeployError(f"{shown} is missing: create it with `inv production.env --domain example.com` "
                          "(or copy .envs/.production.example and fill it in)")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise DeployError(f"{shown} cannot be read ({error}): make it a readable UTF-8 text file") from None
    values = parse(text, shown)
    if not values:
        raise DeployError(f"{shown} is empty: fill it in (see .envs/.production.example)")
    validate(values, shown)
    return EnvFile(shown, values)


# --- creating a new env file (`inv production.env`) ------------------------------------------------
# Host names for --domain: labels of letters, digits and hyphens, a leading dot meaning "and subdomains"
# to Django. Stricter than HOST on purpose: no `*`, no IP literal, no empty label (`a..b`).
DOMAIN = re.compile(r"^\.?(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*$")
_KEY_CHARS = string.ascii_letters + string.digits + "!@%^&*(-_=+)"


def check_domain(domain: str) -> str:
    """Return the domain list unchanged when every comma-separated entry is a host name."""
    hosts = [h.strip() for h in domain.split(",")]
    if not domain.strip() or not all(DOMAIN.match(h) and _name_or_address(h) for h in hosts):
        raise DeployError(f"--domain {domain!r} is not a host name (e.g. example.com or example.com,www.example.com)")
    return ",".join(hosts)


def _name_or_address(host: str) -> bool:
    """A name's last label is never all digits (no such top-level domain); all digits must be an IPv4 address."""
    labels = host.lstrip(".").split(".")
    if not labels[-1].isdigit():
        return True
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return True


def new_secret_key(length: int = 64) -> str:
    """A fresh random key. No `$`, `#`, quotes or spaces: safe in docker's env_file."""
    return "".join(secrets.choice(_KEY_CHARS) for _ in range(length))


def render_production_env(example: str, domain: str, key: str) -> str:
    """The example file with its key and hosts lines replaced; everything else kept as documentation."""
    out, seen = [], set()
    for line in example.splitlines():
        name = line.split("=", 1)[0].strip() if "=" in line and not line.lstrip().startswith("#") else ""
        if name == "DJANGO_SECRET_KEY":
            line = f"DJANGO_SECRET_KEY={key}"
        elif name == "DJANGO_ALLOWED_HOSTS":
            line = f"DJANGO_ALLOWED_HOSTS={domain}"
        seen.add(name)
        out.append(line)
    for name, value in (("DJANGO_SECRET_KEY", key), ("DJANGO_ALLOWED_HOSTS", domain)):
        if name not in seen:
            out.append(f"{name}={value}")
    return "\n".join(out) + "\n"


def write_secret_file(path: Path, text: str) -> None:
    """Create `path` with mode 600; O_EXCL makes "never overwrite" atomic."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise DeployError(f"{path} already exists: not overwriting it (delete it first to start over)") from None
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def postgres_settings(password: str, name: str = "mysite") -> dict[str, str]:
    """The lines that put a site on the bundled PostgreSQL (user and database named ``name``)."""
    return {"POSTGRES_USER": name, "POSTGRES_PASSWORD": password, "POSTGRES_DB": name,
            "POSTGRES_INITDB_ARGS": INITDB_ARGS,
            "DATABASE_URL": f"postgres://{name}:{password}@{BUNDLED_POSTGRES}:5432/{name}"}


def new_password(length: int = 32) -> str:
    """Letters and digits only: safe in a URL and in docker's env files without any quoting."""
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(length))


def create(path: Path, example: Path, domain: str, postgres: bool = False) -> str:
    """Write a new env file at ``path``: ``example`` with ``domain`` and a fresh key (and PostgreSQL's
    settings with a fresh password when ``postgres``). Returns the hosts."""
    hosts = check_domain(domain)
    try:
        template = example.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise DeployError(f"{example} cannot be read ({error.strerror if isinstance(error, OSError) else error}): "
                          "restore it from git (`git checkout -- .envs/.production.example`)") from None
    text = render_production_env(template, hosts, new_secret_key())
    if postgres:
        text += "\n# The bundled PostgreSQL (production.yml's postgres service), with a fresh password\n"
        text += render(postgres_settings(new_password()))
    write_secret_file(path, text)
    return hosts
