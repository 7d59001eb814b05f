"""The app folder on the server: releases, ``current``, the uploaded env file and the audit log.

Layout (``deploy.names.Names``): ``releases/<YYYYmmddHHMMSS-sha7>/``, ``current -> releases/<name>``,
``shared/.envs/.production`` (mode 600, never in a release or an image), ``backups/``, ``audit.log``
and the ``.deploy.lock`` folder.
"""

from shlex import quote

from deploy.names import Names


def unpack(names: Names, release: str, tarball: str) -> str:
    target = quote(names.release(release))
    return f"mkdir -p {target} && tar -xf {quote(tarball)} -C {target} && rm -f {quote(tarball)}"


def prepare_dirs(names: Names) -> str:
    # shared/.envs and backups/ are 700: the secrets and the database copies are the deploy user's alone
    return (f"mkdir -p {quote(names.releases)} {quote(names.backups)} {quote(names.envs)} "
            f"&& chmod 700 {quote(names.envs)} {quote(names.backups)}")


def install_env(upload: str, target: str) -> str:
    return f"chmod 600 {quote(upload)} && mv -f {quote(upload)} {quote(target)}"


def listing(names: Names) -> str:
    return f"ls -1 {quote(names.releases)} 2>/dev/null || true"


def read_current(names: Names) -> str:
    return f"readlink {quote(names.current)} 2>/dev/null || true"


def link_current(names: Names, release: str) -> str:
    # a symlink renamed over the old one: `current` always points at a whole release
    tmp = quote(f"{names.current}.tmp")
    return f"ln -sfn {quote(names.current_target(release))} {tmp} && mv -Tf {tmp} {quote(names.current)}"


def remove_release(names: Names, release: str) -> str:
    """Remove a release folder and its image tags (an image still in use stays)."""
    return (f"rm -rf {quote(names.release(release))}; "
            f"docker rmi {names.app_image(release)} {names.nginx_image(release)} >/dev/null 2>&1 || true")


def image_tags(names: Names) -> str:
    """The tags of this app's images: its own repository, never another app's on the same server."""
    return f"docker images {names.app_repository} --format '{{{{.Tag}}}}'"


def image_exists(names: Names, release: str) -> str:
    return f"docker image inspect {names.app_image(release)} >/dev/null 2>&1"


def append_audit(names: Names, line: str) -> str:
    return f"printf '%s\\n' {quote(line)} >> {quote(names.audit)}"


def env_value(env_file: str, key: str) -> str:
    """Print ``key``'s value from the uploaded env file (its canonical KEY=value shape)."""
    return f"sed -n {quote(f's/^{key}=//p')} {quote(env_file)}"
