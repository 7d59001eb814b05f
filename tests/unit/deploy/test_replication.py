"""deploy/replication.py: the settings checked before a deploy, the target's window, status, the fresh-server guard."""

import base64
from datetime import UTC, datetime

import paramiko
import pytest
from invoke.runners import Result

from deploy import config, envfile, replication
from deploy.commands import litestream
from deploy.errors import DeployError, RemoteCommandFailed
from tests.harness.keys import ed25519_key_file
from tests.harness.mockremote import names

TARGET = "sftp://bk@vault.example/srv/backups"
PEM = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk=\n-----END OPENSSH PRIVATE KEY-----\n"
KEY = base64.b64encode(PEM.encode()).decode()


def env(**values: str) -> envfile.EnvFile:
    return envfile.EnvFile(".envs/.production", {"DJANGO_ALLOWED_HOSTS": "blog.example", **values})


@pytest.fixture
def known_hosts(tmp_path):
    """vault.example with an ed25519, an RSA and an ECDSA key, as `ssh-keyscan` would list them."""
    keys = paramiko.HostKeys()
    made = {"ssh-ed25519": paramiko.Ed25519Key.from_private_key_file(ed25519_key_file()),
            "ssh-rsa": paramiko.RSAKey.generate(1024), "ecdsa-sha2-nistp256": paramiko.ECDSAKey.generate()}
    for kind, key in made.items():
        keys.add("vault.example", kind, key)
    path = tmp_path / "known_hosts"
    keys.save(str(path))
    return path, made


def settings(path, target=TARGET, **values):
    return replication.settings(config.load({"backup": {"target": target}, "known_hosts": str(path)}, {}),
                                env(**values))


def test_no_target_changes_nothing():
    assert replication.settings(config.load({}, {}), env()) is None


def test_the_host_key_litestream_checks_is_the_type_it_asks_for_first(known_hosts):
    path, made = known_hosts
    found = settings(path, LITESTREAM_SFTP_KEY=KEY)
    assert f'host-key: "ecdsa-sha2-nistp256 {made["ecdsa-sha2-nistp256"].get_base64()}"' in found.config
    assert "key-path: /tmp/litestream-key" in found.config and "password" not in found.config
    assert found.secrets == f"LITESTREAM_SFTP_KEY={KEY}\n"
    only = paramiko.HostKeys()
    only.add("vault.example", "ssh-ed25519", made["ssh-ed25519"])
    only.save(str(path))
    assert f'"ssh-ed25519 {made["ssh-ed25519"].get_base64()}"' in settings(path, LITESTREAM_SFTP_KEY=KEY).config


def test_a_hashed_known_hosts_line_and_a_port_are_found(tmp_path, known_hosts):
    _, made = known_hosts
    keys = paramiko.HostKeys()
    keys.add(paramiko.HostKeys.hash_host("[vault.example]:2222"), "ssh-rsa", made["ssh-rsa"])
    keys.save(str(tmp_path / "hashed"))
    found = settings(tmp_path / "hashed", "sftp://bk@vault.example:2222/srv/b", LITESTREAM_SFTP_PASSWORD="pw-9f3e!")
    assert f'"ssh-rsa {made["ssh-rsa"].get_base64()}"' in found.config
    assert "password: ${LITESTREAM_SFTP_PASSWORD}" in found.config and "pw-9f3e!" not in found.config


def test_an_unknown_host_key_is_never_accepted_by_itself(tmp_path):
    with pytest.raises(DeployError, match=r"host key is not in .*known_hosts \(as \[vault.example\]:2222\): a new "
                                          "host key is never accepted by itself.*ssh-keyscan -p 2222 vault.example"):
        settings(tmp_path / "known_hosts", "sftp://bk@vault.example:2222/srv/b", LITESTREAM_SFTP_KEY=KEY)


def test_a_login_is_required_and_a_key_must_be_a_key(known_hosts):
    path, _ = known_hosts
    with pytest.raises(DeployError, match="needs a login: put LITESTREAM_SFTP_KEY="):
        settings(path)
    with pytest.raises(DeployError, match="LITESTREAM_SFTP_KEY in .envs/.production is not a private key in base64"):
        settings(path, LITESTREAM_SFTP_KEY="bm90IGEga2V5")
    with pytest.raises(DeployError, match="for SQLite only"):
        settings(path, LITESTREAM_SFTP_KEY=KEY, DATABASE_URL="postgres://u:p@postgres:5432/d")


def test_the_app_never_gets_litestreams_secrets():
    both = env(LITESTREAM_SFTP_KEY=KEY, LITESTREAM_SFTP_PASSWORD="pw")
    assert "LITESTREAM" not in both.render()
    assert both.render_for_litestream() == f"LITESTREAM_SFTP_KEY={KEY}\nLITESTREAM_SFTP_PASSWORD=pw\n"


LISTING = ('[{"level": 0, "min_txid": "0000000000000001", "max_txid": "0000000000000001", "size": 567, '
           '"timestamp": "2026-12-07T08:01:30Z"}, {"level": 0, "min_txid": "0000000000000002", '
           '"max_txid": "000000000000000a", "size": 191, "timestamp": "2026-12-07T08:05:32Z"}, {"level": 1, '
           '"min_txid": "0000000000000001", "max_txid": "0000000000000002", "size": 578, '
           '"timestamp": "2026-12-07T08:02:00Z"}]')


def at(text):
    return datetime.strptime(text, "%H:%M:%S").replace(2026, 12, 7, tzinfo=UTC)


def test_the_window_is_what_the_target_holds():
    files = replication.parse_files(LISTING)
    assert replication.window(files) == (at("08:01:30"), at("08:05:32"))
    assert replication.latest(files) == (10, at("08:05:32"))
    assert replication.parse_files("") == [] and replication.parse_files("Error: x") == []
    assert replication.window([]) is None


def test_a_time_outside_the_window_is_refused_in_one_line():
    files, target = replication.parse_files(LISTING), replication.backup_target.parse(TARGET)
    replication.pick_time(None, files, target)
    replication.pick_time(at("08:03:00"), files, target)
    with pytest.raises(DeployError, match="--at 2026-12-07 08:01:29 is outside what the backup target holds "
                                          r"\(2026-12-07 08:01:30 to 2026-12-07 08:05:32 UTC\)"):
        replication.pick_time(at("08:01:29"), files, target)
    with pytest.raises(DeployError, match="outside what the backup target holds"):
        replication.pick_time(at("08:05:33"), files, target)
    with pytest.raises(DeployError, match="holds no copy of the database: nothing to restore"):
        replication.pick_time(None, [], target)


class Server:
    """A host whose commands answer from a table (every other command exits 0, silent), recorded in order."""

    dry_run = False
    name = "deploy@server:22"

    def __init__(self, answers):
        self.answers, self.sent = answers, []

    def probe(self, command):
        self.sent.append(command)
        out, code = next(((o, c) for key, (o, c) in self.answers.items() if key in command), ("", 0))
        return Result(stdout=out, stderr="", exited=code, command=command)

    def run(self, command, warn=False, **_):
        """As Host.run: a failure raises, unless ``warn``."""
        done = self.probe(command)
        if done.failed and not warn:
            raise RemoteCommandFailed(command, done.exited, done.stdout)
        return done

    def put(self, local, remote):
        self.sent.append(f"put {remote}")


def test_status_says_where_whether_it_runs_how_far_behind_and_the_last_error():
    host = Server({"docker ps -a": ("mysite-litestream-1\trunning\tUp 5 minutes\n", 0),
                   "litestream status": ('[{"database": "/app/database/db.sqlite3", "status": "ok", '
                                         '"local_txid": "000000000000000c", "wal_size": "4 kB"}]', 0),
                   "litestream ltx": (LISTING, 0),
                   "docker logs": ("time=... level=ERROR msg=\"sync error\" error=\"ssh: host key mismatch\"\n", 0)})
    lines = replication.status(host, names(), replication.backup_target.parse(TARGET), now=at("08:05:42"))
    assert lines == [
        "off-site backup: sftp://bk@vault.example:22/srv/backups (Litestream 0.5.17); not encrypted on the target: "
        "Litestream 0.5 has no encryption, so whoever can read the target's folder can read the database",
        "  replication: mysite-litestream-1 running (Up 5 minutes)",
        "  lag: 2 transaction(s) not on the target yet; its newest copy was written 10 s ago",
        '  last error: time=... level=ERROR msg="sync error" error="ssh: host key mismatch"']
    assert replication.status(Server({}), names(), replication.backup_target.parse(TARGET))[1] == (
        "  replication: not running here (the next `fab deploy` starts it)")


def test_a_new_database_never_replaces_the_history_a_target_holds(known_hosts):
    path, _ = known_hosts
    copies = settings(path, LITESTREAM_SFTP_KEY=KEY)
    host = Server({"litestream ltx": (LISTING, 0)})
    with pytest.raises(DeployError, match="this server has no database yet and the backup target "
                                          "sftp://bk@vault.example:22/srv/backups holds one .*`fab "
                                          "restore-from-target`.*nothing was copied over it"):
        replication.check_target(host, names(), "R", "v2", copies, fresh=True)
    assert not any("up -d" in command for command in host.sent)
    assert replication.check_target(Server({"litestream ltx": ("[]", 0)}), names(), "R", "v2", copies,
                                    fresh=True) == []
    assert len(replication.check_target(host, names(), "R", "v2", copies, fresh=False)) == 3


def test_a_target_litestream_cannot_use_stops_the_deploy_with_its_reason(known_hosts):
    path, _ = known_hosts
    host = Server({"litestream ltx": ("Error: ssh: handshake failed: ssh: host key mismatch\n", 1)})
    with pytest.raises(DeployError, match=r"Litestream cannot use the backup target .* \(Error: ssh: handshake "
                                          r"failed: ssh: host key mismatch\): check the login"):
        replication.check_target(host, names(), "R", "v2", settings(path, LITESTREAM_SFTP_KEY=KEY), fresh=False)


def test_lag_without_a_copy_or_a_local_position():
    assert replication.lag(None, None, at("08:00:00")) == "lag: the target holds nothing yet"
    assert replication.lag(None, (3, at("08:00:00")), at("08:00:05")) == (
        "lag: unknown transaction(s) not on the target yet; its newest copy was written 5 s ago")
    assert litestream.VERSION == "0.5.17"


def test_a_deploy_without_a_target_stops_the_copies_an_earlier_one_started(capsys):
    running = Server({"docker ps -aq": ("3f2a9c1d0e7b\n", 0)})
    replication.stop_without_target(running, names())
    assert running.sent == [litestream.stop(names())]
    assert "off-site copies stopped: no backup target is set now" in capsys.readouterr().out
    idle = Server({"docker ps -aq": ("", 0)})
    replication.stop_without_target(idle, names())
    assert idle.sent == [litestream.stop(names())] and capsys.readouterr().out == ""


def test_verify_reports_what_the_restored_copy_holds():
    report = '{"integrity": "ok", "restored": [12, 340], "live": [12, 342]}\n'
    host = Server({"litestream restore": ("restoring...\n" + report, 0)})
    assert replication.verify(host, names(), "R", "v2", None) == {"integrity": "ok", "restored": [12, 340],
                                                                    "live": [12, 342]}
    assert host.sent == [litestream.run(names(), "R", "v2", litestream.verify(""))]


def test_a_copy_that_fails_the_check_or_a_restore_that_fails_is_one_line():
    bad = Server({"litestream restore": ('{"integrity": "database disk image is malformed", "restored": null, '
                                         '"live": [12, 342]}\n', 1)})
    with pytest.raises(DeployError, match=r"^the backup target's copy fails SQLite's integrity check \(database "
                                          r"disk image is malformed\): restore an earlier time with --at"):
        replication.verify(bad, names(), "R", "v2", at("08:03:00"))
    assert "-timestamp 2026-12-07T08:03:00Z" in bad.sent[0]
    failed = Server({"litestream restore": ("Error: no matching backup files available\n", 1)})
    with pytest.raises(DeployError, match=r"^the restore from the backup target failed \(Error: no matching backup "
                                          r"files available\); the live database was not touched$"):
        replication.verify(failed, names(), "R", "v2", None)
