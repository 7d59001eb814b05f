"""deploy.commands.distro: os-release parsing and the exact install plan per distribution."""

import pytest

from deploy.commands import distro
from deploy.errors import DeployError
from tests.harness.os_release import OS_RELEASE


def plan_for(name, **kwargs):
    return distro.plan(distro.parse_os_release(OS_RELEASE[name]), **kwargs)


def test_parse_reads_quoted_and_bare_values():
    release = distro.parse_os_release(OS_RELEASE["rocky9"])
    assert release == distro.OsRelease(id="rocky", version_id="9.4", codename="", id_like=("rhel", "centos", "fedora"),
                                       pretty_name="Rocky Linux 9.4 (Blue Onyx)")
    assert release.major == "9"


def test_parse_falls_back_to_ubuntu_codename_and_ignores_comments():
    release = distro.parse_os_release("# comment\n\nID=ubuntu\nVERSION_ID=\"22.04\"\nUBUNTU_CODENAME=jammy\n")
    assert (release.id, release.codename, release.label) == ("ubuntu", "jammy", "ubuntu 22.04")


def test_parse_without_id_is_refused():
    with pytest.raises(DeployError, match="names no distribution"):
        distro.parse_os_release("NAME=thing\n")


def test_centos7_is_the_articles_yum_steps_with_the_compose_plugin():
    plan = plan_for("centos7")
    assert plan.commands == (
        "yum install -y yum-utils device-mapper-persistent-data lvm2",
        "yum-config-manager --add-repo https://download.docker.com/linux/centos/docker-ce.repo",
        "yum install -y docker-ce docker-ce-cli containerd.io docker-buildx-plugin docker-compose-plugin",
    )
    assert plan.compose_v2


def test_rocky9_uses_dnf_and_the_centos_repo():
    assert plan_for("rocky9").commands == (
        "dnf install -y dnf-plugins-core",
        "dnf config-manager --add-repo https://download.docker.com/linux/centos/docker-ce.repo",
        "dnf install -y docker-ce docker-ce-cli containerd.io docker-buildx-plugin docker-compose-plugin",
    )


def test_fedora41_uses_dnf5_syntax():
    assert plan_for("fedora41").commands[1] == (
        "dnf config-manager addrepo --from-repofile=https://download.docker.com/linux/fedora/docker-ce.repo")


@pytest.mark.parametrize("name, packages, v2", [
    ("debian12", "docker.io docker-compose", False),
    ("debian13", "docker.io docker-compose", True),
    ("ubuntu2404", "docker.io docker-compose-v2", True),
])
def test_debian_and_ubuntu_use_their_own_packages(name, packages, v2):
    plan = plan_for(name)
    assert plan.commands == ("apt-get update", f"DEBIAN_FRONTEND=noninteractive apt-get install -y {packages}")
    assert plan.compose_v2 is v2


def test_docker_ce_flag_switches_debian_to_the_docker_repository_with_a_keyring():
    assert plan_for("debian12", docker_ce=True).commands == (
        "apt-get update",
        "DEBIAN_FRONTEND=noninteractive apt-get install -y ca-certificates curl",
        "install -m 0755 -d /etc/apt/keyrings",
        "curl -fsSL https://download.docker.com/linux/debian/gpg -o /etc/apt/keyrings/docker.asc",
        "chmod a+r /etc/apt/keyrings/docker.asc",
        "printf '%s\\n' \"deb [arch=$(dpkg --print-architecture) signed-by=/etc/apt/keyrings/docker.asc] "
        "https://download.docker.com/linux/debian bookworm stable\" > /etc/apt/sources.list.d/docker.list",
        "apt-get update",
        "DEBIAN_FRONTEND=noninteractive apt-get install -y docker-ce docker-ce-cli containerd.io "
        "docker-buildx-plugin docker-compose-plugin",
    )


def test_docker_ce_on_ubuntu_uses_the_ubuntu_repository():
    assert "https://download.docker.com/linux/ubuntu noble stable" in plan_for("ubuntu2404", docker_ce=True).commands[5]


@pytest.mark.parametrize("name, words", [
    ("alpine", "Alpine Linux v3.20 is not supported"),
    ("mint", "Linux Mint 21.3 (like ubuntu debian) is not supported"),
])
def test_anything_else_is_one_line_naming_what_is_supported(name, words):
    with pytest.raises(DeployError) as info:
        plan_for(name)
    assert words in str(info.value) and "supported are Debian 12-13, Ubuntu 22.04/24.04, CentOS 7" in str(info.value)


@pytest.mark.parametrize("text", ["ID=debian\nVERSION_ID=11\n", "ID=ubuntu\nVERSION_ID=23.10\n",
                                  "ID=centos\nVERSION_ID=6\n"])
def test_versions_outside_the_supported_range_are_refused(text):
    with pytest.raises(DeployError, match="is not supported"):
        distro.plan(distro.parse_os_release(text))
