"""All deploy settings in one place: fabric.yaml's ``deploy:`` section, then MYSITE_* env, then flags.

Everything is validated before any connection is made; an unknown key names the nearest known one.
"""

import difflib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from deploy.errors import DeployError

APP_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,40}$")


@dataclass(frozen=True)
class DeployConfig:
    app_name: str = "mysite"
    app_path: str = "apps/mysite"  # relative paths are under the SSH user's home
    compose_file: str = "production.yml"
    env_file: str = ".envs/.production"
    keep_releases: int = 5
    keep_backups: int = 10
    health_timeout: int = 60
    stop_timeout: int = 30
    http_addr: str = "0.0.0.0"  # noqa: S104 - nginx is the public entry point
    http_port: int = 80
    https_port: int = 443
    known_hosts: str = "~/.ssh/known_hosts"


KEYS = {f.name: f for f in fields(DeployConfig)}
ENV_PREFIX = "MYSITE_"


def _coerce(key: str, value: Any) -> Any:
    kind = KEYS[key].type
    if kind is int or kind == "int":
        try:
            number = int(str(value).strip())
        except ValueError:
            raise DeployError(f"deploy setting {key} must be a whole number, not {value!r}") from None
        return number
    return str(value).strip()


def _check(config: DeployConfig) -> DeployConfig:
    if not APP_NAME.match(config.app_name):
        raise DeployError(
            f"deploy setting app_name={config.app_name!r} is not usable as a Docker name: "
            "use lowercase letters, digits, '-' or '_'"
        )
    for key in ("http_port", "https_port"):
        port = getattr(config, key)
        if not 1 <= port <= 65535:
            raise DeployError(f"deploy setting {key}={port} is not a TCP port: use a number from 1 to 65535")
    if config.http_port == config.https_port:
        raise DeployError("deploy settings http_port and https_port are the same port: give them different ones")
    for key in ("keep_releases", "keep_backups", "health_timeout", "stop_timeout"):
        if getattr(config, key) < 1:
            raise DeployError(f"deploy setting {key} must be at least 1")
    if not config.app_path.strip() or ".." in config.app_path.split("/"):
        raise DeployError(f"deploy setting app_path={config.app_path!r} must be a plain path without '..'")
    return config


def unknown_key_error(key: str, where: str) -> DeployError:
    close = difflib.get_close_matches(key, KEYS, n=1)
    hint = f" (did you mean {close[0]}?)" if close else f" (known keys: {', '.join(sorted(KEYS))})"
    return DeployError(f"{where}: unknown deploy key {key!r}{hint}")


def load(
    file_settings: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    **flags: Any,
) -> DeployConfig:
    """Merge the three sources in order (file < environment < flags) and validate the result."""
    values: dict[str, Any] = {}
    for key, value in (file_settings or {}).items():
        if key not in KEYS:
            raise unknown_key_error(key, "fabric.yaml")
        values[key] = _coerce(key, value)
    environ = os.environ if environ is None else environ
    for key in KEYS:
        env_name = ENV_PREFIX + key.upper()
        if env_name in environ:
            values[key] = _coerce(key, environ[env_name])
    for key, value in flags.items():
        if key not in KEYS:
            raise unknown_key_error(key, "command line")
        if value is not None:
            values[key] = _coerce(key, value)
    return _check(replace(DeployConfig(), **values))


def from_context(c: Any, **flags: Any) -> DeployConfig:
    """Read the ``deploy:`` section of a Fabric/Invoke context's config, then env and flags."""
    section = c.config.get("deploy") if hasattr(c, "config") else None
    return load({k: section[k] for k in section} if section else {}, **flags)
