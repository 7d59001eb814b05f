"""production.yml's profiles: a plain `up -d` (the article's command) starts what every site runs, and the
commands of the engine, `inv` and the unit files start the services they name, in their profile."""

import re
import shlex
from pathlib import Path

import pytest
from invoke.util import yaml  # the YAML that Fabric's config loader uses

from deploy import config
from deploy.commands import compose
from deploy.commands.services import start_script, stop_script
from deploy.names import Names

REPO = Path(__file__).resolve().parents[3]
SERVICES = yaml.safe_load((REPO / "production.yml").read_text(encoding="utf-8"))["services"]
NAMES = Names.of(config.load({}, {}), "/home/deploy")


def profiles_of(service: str) -> set[str]:
    return set(SERVICES[service].get("profiles", ()))


def default_set() -> set[str]:
    """What a plain `up` starts: the services in no profile."""
    return {name for name in SERVICES if not profiles_of(name)}


def test_a_plain_up_starts_the_app_and_nginx_only():
    assert default_set() == set(compose.APP_SERVICES) == {"mysite", "nginx"}
    assert profiles_of("postgres") == {compose.POSTGRES_PROFILE}
    assert profiles_of("certbot") == {compose.HTTPS_PROFILE}


def test_no_service_of_the_plain_up_depends_on_one_in_a_profile():
    """compose refuses an `up` whose service depends on one of a profile that is off."""
    for name in default_set():
        assert set(SERVICES[name].get("depends_on", ())) <= default_set(), name


def enabled(words: str) -> set[str]:
    return set(re.findall(r"--profile (\S+)", words))


@pytest.mark.parametrize("words", [compose.START_POSTGRES, compose.START_CERTBOT, compose.REMOVE_POSTGRES,
                                   compose.START_NGINX])
def test_each_command_that_names_a_service_enables_its_profile(words):
    service = shlex.split(words)[-1]
    assert profiles_of(service) <= enabled(words), words
    before_command = words.split(" up ")[0].split(" rm ")[0]
    assert enabled(before_command) == enabled(words), "--profile is a global option: before the command"


def test_down_and_logs_cover_every_profile_of_the_file():
    assert enabled(compose.EVERY_PROFILE) == {p for name in SERVICES for p in profiles_of(name)}


def test_the_unit_files_start_and_stop_nginx_which_is_in_no_profile():
    for script in (start_script(NAMES, "docker-compose", detach=True), stop_script(NAMES, "docker-compose")):
        assert re.search(r"docker-compose (up -d --no-deps|stop -t \d+) nginx", script), script
    assert "nginx" in default_set()


def test_the_full_commands_on_a_server():
    release = "20261124100509-bbbbbbb"
    assert compose.stack(NAMES, release, compose.START_POSTGRES, kind="v1").endswith(
        "docker-compose -p mysite -f production.yml --profile postgres up -d --no-deps postgres")
    assert compose.stack(NAMES, release, compose.START_CERTBOT, kind="v2").endswith(
        "docker compose -p mysite -f production.yml --profile https up -d --no-deps certbot")


def test_the_litestream_entrypoint_writes_the_key_for_its_user_only_and_runs_the_command(tmp_path):
    """production.yml's entrypoint, run by sh here (compose's $$ is a $): the base64 key becomes a 600 file, the
    command runs with its arguments, and without a key no file is written."""
    import os
    import subprocess

    service = SERVICES["litestream"]
    assert service["profiles"] == [compose.LITESTREAM_PROFILE] and service["image"].startswith("mysite-django:")
    assert "database:/app/database" in service["volumes"]
    argv = [word.replace("$$", "$").replace("/tmp/litestream-key", str(tmp_path / "key")) for word in
            service["entrypoint"]]
    environ = {"PATH": os.environ["PATH"], "LITESTREAM_SFTP_KEY": "LS0tLS1CRUdJTiBrZXkK"}
    done = subprocess.run([*argv, "sh", "-c", 'echo "ran: $*"', "x", "a", "b c"], env=environ,
                          capture_output=True, text=True, check=True)
    assert done.stdout == "ran: a b c\n"
    assert (tmp_path / "key").read_text() == "-----BEGIN key\n" and (tmp_path / "key").stat().st_mode & 0o777 == 0o600
    (tmp_path / "key").unlink()
    subprocess.run([*argv, "true"], env={"PATH": os.environ["PATH"]}, check=True)
    assert not (tmp_path / "key").exists()
