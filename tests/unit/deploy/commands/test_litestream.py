"""deploy/commands/litestream.py: the exact strings."""

from shlex import quote

import pytest

from deploy.commands import litestream
from deploy.scripts import source
from tests.harness.mockremote import names

STACK = ("cd /home/deploy/apps/mysite/releases/R && MYSITE_TAG=R "
         "MYSITE_ENV_FILE=/home/deploy/apps/mysite/shared/.envs/.production "
         "MYSITE_NGINX_ENV_FILE=/home/deploy/apps/mysite/shared/.envs/.nginx "
         "MYSITE_POSTGRES_ENV_FILE=/home/deploy/apps/mysite/shared/.envs/.postgres "
         "MYSITE_LITESTREAM_ENV_FILE=/home/deploy/apps/mysite/shared/.envs/.litestream MYSITE_HTTP_ADDR=0.0.0.0 "
         "MYSITE_HTTP_PORT=80 MYSITE_HTTPS_PORT=443 MYSITE_APP_WSGI=mysite.wsgi:application MYSITE_APP_PORT=8000 "
         "MYSITE_APP_HEALTH_PATH=/healthz MYSITE_LITESTREAM_CONFIG=/home/deploy/apps/mysite/shared/litestream.yml ")
KEY = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBOo="


def test_the_config_names_where_and_the_host_key_and_only_where_the_secrets_are():
    assert litestream.config("sftp://bk@vault:22/srv/b", KEY, key=True, password=False) == (
        "# written by fab deploy (docs/BACKUPS.md): no secret here, they come from the environment\n"
        "dbs:\n"
        "  - path: /app/database/db.sqlite3\n"
        "    replica:\n"
        "      url: sftp://bk@vault:22/srv/b\n"
        f'      host-key: "{KEY}"\n'
        "      key-path: /tmp/litestream-key\n")
    assert litestream.config("sftp://bk@vault:22/srv/b", KEY, key=False, password=True).endswith(
        f'      host-key: "{KEY}"\n      password: ${{LITESTREAM_SFTP_PASSWORD}}\n')


@pytest.mark.parametrize("bad", ["", "ssh-ed25519", "ssh-dss AAAA", 'ssh-ed25519 AAAA"\nx: y', "AAAA ssh-rsa",
                                 "ssh-ed25519 AAAA\n"])
def test_the_config_refuses_anything_but_a_host_key_line(bad):
    with pytest.raises(ValueError, match="not a host key line"):
        litestream.config("sftp://bk@vault:22/srv/b", bad, key=True, password=False)


def test_the_service_starts_in_its_profile_with_the_release_and_its_files():
    assert litestream.up(names(), "R", "v2") == (
        STACK + "docker compose -p mysite -f production.yml --profile litestream up -d --no-deps litestream")


def test_one_offs_run_in_the_service_with_the_same_files():
    assert litestream.run(names(), "R", "v1", litestream.listing()) == (
        STACK + "docker-compose -p mysite -f production.yml --profile litestream run --rm --no-deps -T litestream "
        "litestream ltx -config /etc/litestream.yml -level all -json /app/database/db.sqlite3")


def test_a_restore_where_there_is_no_database_writes_it_in_place():
    assert litestream.restore_new("") == (
        "litestream restore -config /etc/litestream.yml -o /app/database/db.sqlite3 /app/database/db.sqlite3")
    assert litestream.restore_new("2026-12-07T08:30:00Z") == (
        "litestream restore -config /etc/litestream.yml -timestamp 2026-12-07T08:30:00Z "
        "-o /app/database/db.sqlite3 /app/database/db.sqlite3")


def test_a_restore_of_the_live_database_goes_through_the_checked_one_transaction_copy():
    words = litestream.restore_live("2026-12-07T08:30:00Z")
    assert words.startswith(
        "sh -c 'litestream restore -config /etc/litestream.yml -timestamp 2026-12-07T08:30:00Z "
        "-o /tmp/restored.sqlite3 /app/database/db.sqlite3 && exec \"$@\" < /tmp/restored.sqlite3' restore python -c ")
    assert words.endswith(" /app/database/db.sqlite3") and "integrity_check" in words


def test_status_reads_the_container_its_state_and_its_last_problem():
    assert litestream.container(names()) == (
        "docker ps -a --filter label=com.docker.compose.project=mysite "
        "--filter label=com.docker.compose.service=litestream --filter label=com.docker.compose.oneoff=False "
        "--format '{{.Names}}\t{{.State}}\t{{.Status}}'")
    assert litestream.exec_in("mysite-litestream-1", litestream.local_status()) == (
        "docker exec mysite-litestream-1 litestream status -config /etc/litestream.yml -json /app/database/db.sqlite3")
    assert litestream.last_problem("mysite-litestream-1") == (
        "docker logs --since 24h mysite-litestream-1 2>&1 | grep -E 'level=(ERROR|WARN)' | tail -n 1")


def test_stop_removes_only_the_replication_container_and_prints_its_id():
    assert litestream.stop(names()) == (
        "ids=$(docker ps -aq --filter label=com.docker.compose.project=mysite "
        "--filter label=com.docker.compose.service=litestream --filter label=com.docker.compose.oneoff=False); "
        'if [ -n "$ids" ]; then docker stop -t 30 $ids >/dev/null && docker rm $ids; fi')


def test_verify_restores_into_a_scratch_file_and_checks_it_beside_the_live_database():
    assert litestream.verify("2026-12-07T08:30:00Z") == (
        "sh -c 'litestream restore -config /etc/litestream.yml -timestamp 2026-12-07T08:30:00Z "
        "-o /tmp/restored.sqlite3 /app/database/db.sqlite3 && exec \"$@\"' verify python -c "
        f"{quote(source('sqlite_verify'))} /tmp/restored.sqlite3 /app/database/db.sqlite3")
