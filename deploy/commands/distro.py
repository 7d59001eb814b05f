"""Which Linux a server runs (``/etc/os-release``) and how Docker and Compose get installed there.

``plan()`` is pure: it returns the root commands to run, in order, for one distribution.
"""

import shlex
from dataclasses import dataclass

from deploy.errors import DeployError

SUPPORTED = ("Debian 12-13, Ubuntu 22.04/24.04, CentOS 7, RHEL/Rocky/AlmaLinux 8-9 (and CentOS Stream 8-9), "
             "Fedora 39+")
DOCKER_CE = "https://download.docker.com/linux"
APT = "DEBIAN_FRONTEND=noninteractive apt-get"
CE_PACKAGES = ("docker-ce", "docker-ce-cli", "containerd.io", "docker-buildx-plugin", "docker-compose-plugin")
# The distributions' own packages. Debian 12 only has Compose v1 (python); trixie's `docker-compose`
# is the Go v2 plugin; Ubuntu ships v2 as `docker-compose-v2` (its `docker-compose` is still v1).
DISTRO_PACKAGES = {
    ("debian", "12"): ("docker.io", "docker-compose"),
    ("debian", "13"): ("docker.io", "docker-compose"),
    ("ubuntu", "22"): ("docker.io", "docker-compose-v2"),
    ("ubuntu", "24"): ("docker.io", "docker-compose-v2"),
}
V1_ONLY = {("debian", "12")}
UBUNTU_LTS = {"22.04", "24.04"}


@dataclass(frozen=True)
class OsRelease:
    id: str
    version_id: str = ""
    codename: str = ""
    id_like: tuple[str, ...] = ()
    pretty_name: str = ""

    @property
    def major(self) -> str:
        return self.version_id.split(".")[0]

    @property
    def label(self) -> str:
        return self.pretty_name or f"{self.id} {self.version_id}".strip()


@dataclass(frozen=True)
class Plan:
    """How to install Docker and Compose on one distribution: root commands, in order."""

    name: str
    packages: tuple[str, ...]
    commands: tuple[str, ...]
    compose_v2: bool


def parse_os_release(text: str) -> OsRelease:
    """Parse os-release's shell-style ``KEY=value`` lines (values may be quoted)."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, raw = line.partition("=")
        try:
            words = shlex.split(raw)
        except ValueError:
            words = [raw.strip("\"'")]
        values[key.strip()] = " ".join(words)
    if not values.get("ID"):
        raise DeployError(f"/etc/os-release names no distribution (no ID=): supported are {SUPPORTED}")
    return OsRelease(
        id=values["ID"].lower(),
        version_id=values.get("VERSION_ID", ""),
        codename=values.get("VERSION_CODENAME") or values.get("UBUNTU_CODENAME", ""),
        id_like=tuple(values.get("ID_LIKE", "").lower().split()),
        pretty_name=values.get("PRETTY_NAME", ""),
    )


def _apt_distro(os: OsRelease) -> Plan:
    packages = DISTRO_PACKAGES[(os.id, os.major)]
    return Plan(
        name=f"{os.label}: {' + '.join(packages)} from {os.id.capitalize()}",
        packages=packages,
        commands=("apt-get update", f"{APT} install -y {' '.join(packages)}"),
        compose_v2=(os.id, os.major) not in V1_ONLY,
    )


def _apt_docker_ce(os: OsRelease) -> Plan:
    if not os.codename:
        raise DeployError(f"{os.label}: /etc/os-release has no VERSION_CODENAME, needed for the docker-ce repository")
    keyring = "/etc/apt/keyrings/docker.asc"
    source = (f"deb [arch=$(dpkg --print-architecture) signed-by={keyring}] "
              f"{DOCKER_CE}/{os.id} {os.codename} stable")
    return Plan(
        name=f"{os.label}: docker-ce from download.docker.com",
        packages=CE_PACKAGES,
        commands=(
            "apt-get update",
            f"{APT} install -y ca-certificates curl",
            "install -m 0755 -d /etc/apt/keyrings",
            f"curl -fsSL {DOCKER_CE}/{os.id}/gpg -o {keyring}",
            f"chmod a+r {keyring}",
            f'printf \'%s\\n\' "{source}" > /etc/apt/sources.list.d/docker.list',
            "apt-get update",
            f"{APT} install -y {' '.join(CE_PACKAGES)}",
        ),
        compose_v2=True,
    )


def _rpm_docker_ce(os: OsRelease) -> Plan:
    packages = CE_PACKAGES
    if os.id == "centos" and os.major == "7":
        # The article's CentOS 7 steps; Compose is the plugin from the same repository (no pip needed).
        commands = ("yum install -y yum-utils device-mapper-persistent-data lvm2",
                    f"yum-config-manager --add-repo {DOCKER_CE}/centos/docker-ce.repo",
                    f"yum install -y {' '.join(packages)}")
        return Plan(f"{os.label}: docker-ce with yum", packages, commands, compose_v2=True)
    repo = f"{DOCKER_CE}/{'fedora' if os.id == 'fedora' else 'rhel' if os.id == 'rhel' else 'centos'}/docker-ce.repo"
    if os.id == "fedora" and int(os.major) >= 41:
        add_repo = f"dnf config-manager addrepo --from-repofile={repo}"  # dnf5 changed the syntax
    else:
        add_repo = f"dnf config-manager --add-repo {repo}"
    commands = ("dnf install -y dnf-plugins-core", add_repo, f"dnf install -y {' '.join(packages)}")
    return Plan(f"{os.label}: docker-ce with dnf", packages, commands, compose_v2=True)


def plan(os: OsRelease, *, docker_ce: bool = False) -> Plan:
    """The install plan for ``os``; one DeployError line naming what is supported otherwise."""
    if os.id in ("debian", "ubuntu"):
        supported = (os.id, os.major) in DISTRO_PACKAGES and (os.id == "debian" or os.version_id in UBUNTU_LTS)
        if supported:
            return _apt_docker_ce(os) if docker_ce else _apt_distro(os)
    elif os.id == "centos" and os.major in ("7", "8", "9"):
        return _rpm_docker_ce(os)
    elif os.id in ("rhel", "rocky", "almalinux") and os.major in ("8", "9"):
        return _rpm_docker_ce(os)
    elif os.id == "fedora" and os.major.isdigit() and int(os.major) >= 39:
        return _rpm_docker_ce(os)
    like = f" (like {' '.join(os.id_like)})" if os.id_like else ""
    raise DeployError(f"{os.label}{like} is not supported by `fab bootstrap`: supported are {SUPPORTED}; "
                      "install Docker and Compose by hand, then run it again to finish the setup")
