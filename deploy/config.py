"""All deploy settings in one place: fabric.yaml's ``deploy:`` section, then MYSITE_* env, then flags.

Everything is validated before any connection is made; an unknown key names the nearest known one.
"""

import difflib
import ipaddress
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from deploy.errors import DeployError

# Docker's rule for a part of an image name (`<app>-django`): lowercase letters and digits, joined by one
# '_', two '_' or any number of '-'; so never ending with '_' or '-' ("shop_" would make "shop_-django").
APP_NAME = re.compile(r"^(?=.{1,40}$)[a-z0-9]+(?:(?:__?|-+)[a-z0-9]+)*$")
MODULE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")  # a dotted Python module name
WSGI = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$")  # gunicorn's module:variable
HEALTH_PATH = re.compile(r"^(/[A-Za-z0-9._~-]+)+$")  # an absolute URL path, no query, no trailing slash


@dataclass(frozen=True)
class AppConfig:
    """``app:`` under ``deploy:``: the contract between the engine and the project's image, nothing about where
    it runs. The blog's values are the defaults; the image's start.sh, gunicorn.conf.py and healthcheck.py
    fall back to the same ones, so an image run by hand behaves as a deployed one."""

    name: str = "mysite"  # the Docker names' prefix (deploy/names.py); the old top-level key is app_name
    settings: str = "mysite.settings.production"  # DJANGO_SETTINGS_MODULE of the app containers and one-offs
    wsgi: str = "mysite.wsgi:application"  # what gunicorn serves
    port: int = 8000  # gunicorn's TCP port in the app container (health checks, nginx by name, the cluster)
    health_path: str = "/healthz"  # answers 200 when the app is up (deploy/djangoapp)
    # the project's Django settings the migration gate loads on this machine: it reads migration files only, so
    # settings that need no database server and no secret (the test settings)
    gate_settings: str = "mysite.settings.test"


@dataclass(frozen=True)
class SwarmConfig:
    """``swarm:`` under ``deploy:``: the cluster's nodes (the first is the manager) and how the stack runs."""

    nodes: tuple[str, ...] = ()  # user@host[:port], as for -H
    advertise_addr: str = ""  # the manager's address for the other nodes (default: its private address)
    replicas: int = 2  # app tasks
    monitor: int = 20  # seconds Swarm watches each new app task after it is healthy before it goes on
    db_node: str = ""  # the node that holds PostgreSQL's data (default: the manager)


@dataclass(frozen=True)
class BackupConfig:
    """``backup:`` under ``deploy:``: where Litestream copies the SQLite database off the server ('' = nowhere)."""

    target: str = ""  # sftp://user@host[:port]/path (deploy/backup_target.py); the secret is in the env file


@dataclass(frozen=True)
class DeployConfig:
    app: AppConfig = field(default_factory=AppConfig)
    app_path: str = "apps/mysite"  # relative paths are under the SSH user's home; unset: apps/<app name>
    compose_file: str = "production.yml"
    env_file: str = ".envs/.production"
    keep_releases: int = 5
    keep_backups: int = 10
    health_timeout: int = 60
    stop_timeout: int = 30
    keep_warm: int = 600  # seconds the replaced release's container stays running, out of traffic, for `fab rollback`
    http_addr: str = "0.0.0.0"  # noqa: S104 - nginx is the public entry point
    http_port: int = 80
    https_port: int = 443
    known_hosts: str = "~/.ssh/known_hosts"
    build: str = "server"  # where images are built: "server" (from the shipped commit) or "local" (here, then shipped)
    swarm: SwarmConfig = field(default_factory=SwarmConfig)
    backup: BackupConfig = field(default_factory=BackupConfig)

    @property
    def app_name(self) -> str:
        """``app: name``, by its old name (a top-level key of fabric.yaml before the ``app:`` section)."""
        return self.app.name

    @property
    def gate_settings(self) -> str:
        """``app: gate_settings``, by its old name."""
        return self.app.gate_settings


KEYS = {f.name: f for f in fields(DeployConfig)}
SWARM_KEYS = {f.name: f for f in fields(SwarmConfig)}
APP_KEYS = {f.name: f for f in fields(AppConfig)}
BACKUP_KEYS = {f.name: f for f in fields(BackupConfig)}
SECTIONS = ("swarm", "app", "backup")  # sections of settings, not single values
# The app's settings by their old top-level names, still read (fabric.yaml, MYSITE_GATE_SETTINGS, flags); the
# environment variable of `app: name` was and is MYSITE_APP_NAME
LEGACY_APP_KEYS = {"app_name": "name", "gate_settings": "gate_settings"}
# MYSITE_APP_<KEY>: the app settings in the environment (the app containers read the port, health path and wsgi
# under the same names)
APP_VARIABLES = {key: f"MYSITE_APP_{key.upper()}" for key in APP_KEYS}
OLD_APP_VARIABLES = {"gate_settings": "MYSITE_GATE_SETTINGS"}  # MYSITE_APP_NAME is app_name's and name's
ENV_PREFIX = "MYSITE_"
BUILDS = ("server", "local")
MAX_KEEP_WARM = 7 * 24 * 3600
LIMITS = {"keep_releases": 1000, "keep_backups": 1000, "health_timeout": 3600, "stop_timeout": 3600}
# Absolute app_path may not be, or be inside, one of these (nor be / or a folder right below it, nor /home/<user>)
SYSTEM_FOLDERS = {"/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/root", "/run",
                  "/sbin", "/sys", "/usr", "/var/lib", "/var/log", "/var/run", "/var/spool", "/var/cache", "/tmp"}  # noqa: S108 - refused, not used
# Variables that start with MYSITE_ but are not deploy settings (compose, the app, the tests and benchmarks)
OTHER_VARIABLES = {"MYSITE_TAG", "MYSITE_MIGRATE_ON_START", "MYSITE_DOMAIN", "MYSITE_SEED_DEMO", "MYSITE_CHROMIUM",
                   "MYSITE_LOCAL_PORT", "MYSITE_LOCAL_TAG", "MYSITE_BENCH_KEEP", "MYSITE_ACME_WEBROOT",
                   "MYSITE_LETSENCRYPT", "MYSITE_NGINX_USER", "MYSITE_NGINX_DIR", "MYSITE_NGINX_TEMPLATES",
                   "MYSITE_APP_ALIAS"}


def _swarm(value: Any, where: str, base: SwarmConfig | None = None) -> SwarmConfig:
    """The ``swarm:`` section (a mapping) merged over ``base``; nodes as a list or a comma-separated string."""
    if not isinstance(value, Mapping):
        raise DeployError(f"{where}: `swarm:` must be a section of settings (nodes, advertise_addr, replicas, "
                          f"monitor, db_node), not a {type(value).__name__}")
    values: dict[str, Any] = {}
    for key, item in value.items():
        if key not in SWARM_KEYS:
            raise _unknown_key(key, where, "swarm", SWARM_KEYS, SWARM_KEYS)
        if item is None:
            continue
        if key == "nodes":
            words = item.split(",") if isinstance(item, str) else [str(node) for node in item]
            values[key] = _nodes(tuple(node.strip() for node in words if node.strip()), where)
        elif key in ("replicas", "monitor"):
            values[key] = _coerce_int(f"swarm {key}", item)
        else:
            values[key] = str(item).strip()
    return replace(base or SwarmConfig(), **values)


def _nodes(nodes: tuple[str, ...], where: str) -> tuple[str, ...]:
    """Each node checked as -H checks a host, named after where it was given; no machine twice."""
    from deploy import checks  # the -H rules (imported here: checks needs no config)

    option = {"command line": "--nodes", "environment": f"{ENV_PREFIX}SWARM_NODES"}.get(where, f"{where} swarm nodes")
    for node in nodes:
        checks.host(node, option)
    checks.distinct_nodes(nodes, option)
    return nodes


def _coerce_int(key: str, value: Any) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise DeployError(f"deploy setting {key} must be a whole number, not {value!r}") from None


def _coerce(key: str, value: Any) -> Any:
    if key == "swarm":
        return _swarm(value, "fabric.yaml")
    if key == "backup":
        return _backup(value, "fabric.yaml")
    kind = KEYS[key].type
    if kind is int or kind == "int":
        return _coerce_int(key, value)
    return str(value).strip()


def _app(value: Any, where: str) -> dict[str, Any]:
    """The ``app:`` section's values, each coerced (a mapping; an empty key is left out)."""
    if not isinstance(value, Mapping):
        raise DeployError(f"{where}: `app:` must be a section of settings ({', '.join(APP_KEYS)}), "
                          f"not a {type(value).__name__}")
    values: dict[str, Any] = {}
    for key, item in value.items():
        if key not in APP_KEYS:
            raise _unknown_key(key, where, "app", APP_KEYS, APP_KEYS)
        if item is not None:
            values[key] = _coerce_int(f"app {key}", item) if key == "port" else str(item).strip()
    return values


def _backup(value: Any, where: str) -> BackupConfig:
    """The ``backup:`` section (a mapping; an empty value is no target)."""
    if not isinstance(value, Mapping):
        raise DeployError(f"{where}: `backup:` must be a section of settings ({', '.join(BACKUP_KEYS)}), "
                          f"not a {type(value).__name__}")
    for key in value:
        if key not in BACKUP_KEYS:
            raise _unknown_key(key, where, "backup", BACKUP_KEYS, BACKUP_KEYS)
    return BackupConfig(**{key: "" if item is None else str(item).strip() for key, item in value.items()})


def _with_legacy(app: dict[str, Any], legacy: dict[str, str], where: str) -> dict[str, Any]:
    """``app`` with the settings given by their old top-level names; one setting given twice must agree."""
    for old, value in legacy.items():
        key = LEGACY_APP_KEYS[old]
        if key in app and app[key] != value:
            raise DeployError(f"{where}: {old}={value!r} and app {key}={app[key]!r} disagree: give it once, "
                              f"as `app: {key}:` (the old {old} is the same setting)")
        app[key] = value
    return app


def _check(config: DeployConfig) -> DeployConfig:
    settings = [(key, getattr(config, key)) for key in KEYS] + [(f"app {key}", getattr(config.app, key))
                                                                 for key in APP_KEYS]
    for key, value in settings:
        if isinstance(value, str) and any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            raise DeployError(f"deploy setting {key}={value!r} holds a newline or control character: "
                              "give it on one line of plain text")
    _check_app(config.app)
    for key in ("http_port", "https_port"):
        port = getattr(config, key)
        if not 1 <= port <= 65535:
            raise DeployError(f"deploy setting {key}={port} is not a TCP port: use a number from 1 to 65535")
    if config.http_port == config.https_port:
        raise DeployError("deploy settings http_port and https_port are the same port: give them different ones")
    for key, most in LIMITS.items():
        if not 1 <= getattr(config, key) <= most:
            raise DeployError(f"deploy setting {key} must be at least 1 and at most {most}")
    if not 0 <= config.keep_warm <= MAX_KEEP_WARM:
        raise DeployError(f"deploy setting keep_warm must be at least 0 (0: no warm container) and at most "
                          f"{MAX_KEEP_WARM} seconds (a week)")
    if config.build not in BUILDS:
        raise DeployError(f"deploy setting build={config.build!r} is not one of {', '.join(BUILDS)}: "
                          "server builds on each server, local builds here and ships only the missing layers")
    _check_swarm(config.swarm)
    if config.backup.target:
        from deploy import backup_target  # the URL's own rules

        backup_target.parse(config.backup.target)
    _check_app_path(config.app_path)
    _check_http_addr(config.http_addr)
    _check_compose_file(config.compose_file)
    return config


def _check_app(app: AppConfig) -> None:
    if not APP_NAME.match(app.name):
        raise DeployError(
            f"deploy setting app name={app.name!r} is not usable as a Docker name: use up to 40 lowercase "
            "letters and digits, joined by '-' or '_' (at most two '_' in a row; not at the start or the end)"
        )
    if not MODULE.match(app.settings):
        raise DeployError(f"deploy setting app settings={app.settings!r} is not a Python module name: name the "
                          "project's production settings module, e.g. mysite.settings.production")
    if not WSGI.match(app.wsgi):
        raise DeployError(f"deploy setting app wsgi={app.wsgi!r} is not module:variable: name the project's WSGI "
                          "application as gunicorn takes it, e.g. mysite.wsgi:application")
    if not 1024 <= app.port <= 65535:
        raise DeployError(f"deploy setting app port={app.port} is not a port the app's user may listen on: use a "
                          "number from 1024 to 65535, e.g. 8000")
    if not HEALTH_PATH.match(app.health_path):
        raise DeployError(f"deploy setting app health_path={app.health_path!r} is not a URL path: give the path "
                          "that answers 200 when the app is up, e.g. /healthz (a leading '/', no query, no spaces)")
    if not MODULE.match(app.gate_settings):
        raise DeployError(f"deploy setting gate_settings={app.gate_settings!r} is not a Python module name: "
                          "name the project's settings module that needs no database server and no secret, "
                          "e.g. mysite.settings.test")


def _check_swarm(swarm: SwarmConfig) -> None:
    from deploy import checks  # the -H rules, for the nodes (imported here: checks needs no config)

    if not 1 <= swarm.replicas <= 100:
        raise DeployError("deploy setting swarm replicas must be at least 1 and at most 100")
    if not 0 <= swarm.monitor <= 600:
        raise DeployError("deploy setting swarm monitor must be at least 0 and at most 600 (seconds)")
    if swarm.advertise_addr:
        _check_http_addr(swarm.advertise_addr, "swarm advertise_addr")
    if swarm.db_node and swarm.nodes:
        checks.node_named(swarm.nodes, swarm.db_node, "deploy setting swarm db_node")


def _check_app_path(path: str) -> None:
    """One rule for every task: a folder of the app's own, never a system folder or someone's home."""
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if not parts or ".." in path.split("/"):
        raise DeployError(f"deploy setting app_path={path!r} must be a plain path without '..', "
                          "e.g. apps/mysite (under the SSH user's home) or /srv/mysite")
    if path.startswith("/"):
        top = "/" + parts[0]
        if len(parts) < 2 or top in SYSTEM_FOLDERS or (top == "/home" and len(parts) == 2) or (
                "/" + "/".join(parts[:2])) in SYSTEM_FOLDERS:
            raise DeployError(f"deploy setting app_path={path!r} is a system folder or a home folder, which "
                              "bootstrap would take over (chown, chmod): use a folder of the app's own, "
                              "e.g. /srv/mysite or apps/mysite under the SSH user's home")


def _check_http_addr(addr: str, key: str = "http_addr") -> None:
    try:
        ipaddress.IPv4Address(addr)
    except ValueError:
        raise DeployError(f"deploy setting {key}={addr!r} is not an IPv4 address: use 0.0.0.0 (every "
                          "interface), 127.0.0.1 (this server only) or one of the server's addresses") from None


def _check_compose_file(name: str) -> None:
    if not name or name.startswith("/") or ".." in name.split("/") or not name.endswith((".yml", ".yaml")):
        raise DeployError(f"deploy setting compose_file={name!r} must be a .yml file of the project, named "
                          "relative to its root, e.g. production.yml")


def unknown_key_error(key: str, where: str) -> DeployError:
    return _unknown_key(key, where, "deploy", [*KEYS, *LEGACY_APP_KEYS], sorted(KEYS))


def _unknown_key(key: Any, where: str, section: str, candidates: Iterable[str], listed: Iterable[str]) -> DeployError:
    """One line for a key ``section`` does not have: the nearest of ``candidates``, else the ``listed`` keys."""
    close = difflib.get_close_matches(str(key), list(candidates), n=1)
    hint = f" (did you mean {close[0]}?)" if close else f" (known keys: {', '.join(listed)})"
    return DeployError(f"{where}: unknown {section} key {key!r}{hint}")


def load(
    file_settings: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    **flags: Any,
) -> DeployConfig:
    """Merge the three sources in order (file < environment < flags) and validate the result."""
    values: dict[str, Any] = {}
    app: dict[str, Any] = {}
    section: dict[str, Any] = {}
    legacy: dict[str, str] = {}
    for key, value in (file_settings or {}).items():
        if key in LEGACY_APP_KEYS:
            legacy[key] = str(value).strip()
        elif key == "app":
            section = _app(value, "fabric.yaml")
        elif key not in KEYS:
            raise unknown_key_error(key, "fabric.yaml")
        else:
            values[key] = _coerce(key, value)
    app.update(_with_legacy(section, legacy, "fabric.yaml"))
    environ = os.environ if environ is None else environ
    _check_variable_names(environ)
    for key in KEYS:
        env_name = ENV_PREFIX + key.upper()
        if env_name in environ and key not in SECTIONS:
            values[key] = _coerce(key, environ[env_name])
    if f"{ENV_PREFIX}BACKUP_TARGET" in environ:
        values["backup"] = BackupConfig(target=environ[f"{ENV_PREFIX}BACKUP_TARGET"].strip())
    app_env = _app({key: environ[name] for key, name in APP_VARIABLES.items() if name in environ}, "environment")
    old_env = {old: environ[name].strip() for old, name in OLD_APP_VARIABLES.items() if name in environ}
    app.update(_with_legacy(app_env, old_env, "environment"))
    swarm_env = {key: environ[f"{ENV_PREFIX}SWARM_{key.upper()}"] for key in SWARM_KEYS
                 if f"{ENV_PREFIX}SWARM_{key.upper()}" in environ}
    if swarm_env:
        values["swarm"] = _swarm(swarm_env, "environment", values.get("swarm"))
    section, legacy = {}, {}
    for key, value in flags.items():
        if value is None:
            continue
        if key in LEGACY_APP_KEYS:
            legacy[key] = str(value).strip()
        elif key == "app":
            section = _app(value, "command line")
        elif key not in KEYS:
            raise unknown_key_error(key, "command line")
        elif key == "swarm":
            values["swarm"] = _swarm(value, "command line", values.get("swarm"))
        else:
            values[key] = _coerce(key, value)
    app.update(_with_legacy(section, legacy, "command line"))
    if "app_path" not in values and "name" in app:  # two apps never share a folder by default
        values["app_path"] = f"apps/{app['name']}"
    return _check(replace(DeployConfig(), app=AppConfig(**app), **values))


def _check_variable_names(environ: Mapping[str, str]) -> None:
    """A misspelled MYSITE_* setting would be ignored silently: name the one that was meant."""
    known = ({ENV_PREFIX + key.upper() for key in KEYS if key not in SECTIONS} | {f"{ENV_PREFIX}BACKUP_TARGET"}
             | {f"{ENV_PREFIX}SWARM_{key.upper()}" for key in SWARM_KEYS} | set(APP_VARIABLES.values())
             | set(OLD_APP_VARIABLES.values()))
    for name in environ:
        if name.startswith(ENV_PREFIX) and name not in known and name not in OTHER_VARIABLES:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.85)
            if close:
                raise DeployError(f"environment variable {name} is not a deploy setting (did you mean {close[0]}?): "
                                  "rename or unset it")


def from_context(c: Any, **flags: Any) -> DeployConfig:
    """Read the ``deploy:`` section of a Fabric/Invoke context's config, then env and flags."""
    section = c.config.get("deploy") if hasattr(c, "config") else None
    if section is not None and not isinstance(section, Mapping):
        raise DeployError(f"fabric.yaml: `deploy:` must be a section of settings (key: value lines), not a "
                          f"{type(section).__name__}: see the fabric.yaml in the project for its shape")
    return load({k: section[k] for k in section} if section else {}, **flags)
