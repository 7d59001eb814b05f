"""The off-site backup target: `backup: target:` in fabric.yaml, checked before anything connects."""

from datetime import UTC, datetime

import pytest

from deploy import backup_target, config
from deploy.errors import DeployError


@pytest.mark.parametrize(("url", "parsed", "known_as"), [
    ("sftp://bk@vault.example.com/srv/backups/mysite",
     ("bk", "vault.example.com", 22, "/srv/backups/mysite"), "vault.example.com"),
    ("sftp://bk@10.0.0.5:2222/srv/b/", ("bk", "10.0.0.5", 2222, "/srv/b"), "[10.0.0.5]:2222"),
])
def test_a_target_is_user_host_port_and_folder(url, parsed, known_as):
    target = backup_target.parse(url)
    assert (target.user, target.host, target.port, target.path) == parsed
    assert target.known_hosts_name == known_as
    assert target.url == f"sftp://{parsed[0]}@{parsed[1]}:{parsed[2]}{parsed[3]}"


@pytest.mark.parametrize(("url", "says"), [
    ("s3://bucket/db", "is not an sftp:// URL"),
    ("sftp://vault/srv/b", "names no usable user"),
    ("sftp://bk@/srv/b", "names no usable host"),
    ("sftp://bk@[::1]/srv/b", "names no usable host"),
    ("sftp://bk@vault:0/srv/b", "has a port that is not a number from 1 to 65535"),
    ("sftp://bk@vault:99999/srv/b", "has a port that is not a number from 1 to 65535"),
    ("sftp://bk@vault:ssh/srv/b", "has a port that is not a number from 1 to 65535"),
    ("sftp://bk@vault", "needs an absolute folder"),
    ("sftp://bk@vault/srv/../etc", "needs an absolute folder"),
    ("sftp://bk@vault/srv/b?x=1", "has a query or a fragment"),
    ("sftp://bk@vault/srv/my b", "holds a space, a newline or a control character"),
    ("sftp://bk@vault/srv/b\nurl: x", "holds a space, a newline or a control character"),
])
def test_a_bad_target_is_one_line_that_names_it(url, says):
    with pytest.raises(DeployError, match=says) as error:
        config.load({"backup": {"target": url}}, {})
    assert "\n" not in str(error.value) and str(error.value).startswith("deploy setting backup target")


def test_a_password_in_the_url_is_refused_and_never_shown():
    with pytest.raises(DeployError, match="holds a password.*LITESTREAM_SFTP_PASSWORD") as error:
        config.load({"backup": {"target": "sftp://bk:s3cret-pw@vault/srv/b"}}, {})
    assert "s3cret-pw" not in str(error.value)


def test_the_target_comes_from_fabric_yaml_or_the_environment_and_is_off_by_default():
    assert config.load({}, {}).backup.target == ""
    assert config.load({"backup": {"target": "sftp://bk@vault/srv/b"}}, {}).backup.target == "sftp://bk@vault/srv/b"
    assert config.load({}, {"MYSITE_BACKUP_TARGET": "sftp://bk@env/srv/b"}).backup.target == "sftp://bk@env/srv/b"
    with pytest.raises(DeployError, match="unknown backup key 'tagret' \\(did you mean target\\?\\)"):
        config.load({"backup": {"tagret": "sftp://bk@vault/srv/b"}}, {})
    with pytest.raises(DeployError, match="`backup:` must be a section of settings"):
        config.load({"backup": "sftp://bk@vault/srv/b"}, {})


def test_at_is_a_utc_time_to_the_second():
    assert backup_target.parse_at("2026-12-07 08:30:05") == datetime(2026, 12, 7, 8, 30, 5, tzinfo=UTC)
    for bad in ("2026-12-07", "2026-12-07T08:30:05Z", "yesterday", "2026-13-01 00:00:00"):
        with pytest.raises(DeployError, match='is not a time of the form "YYYY-MM-DD HH:MM:SS"'):
            backup_target.parse_at(bad)
