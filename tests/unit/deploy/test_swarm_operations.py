"""`fab swarm.restore`: a restore migrates with the serving release's one-off task, as a deploy does."""

import json
import os
import stat

import pytest

from deploy import envfile, swarm_operations, swarm_stack
from deploy.backups import HEADERS, POSTGRES
from deploy.commands import docker, swarm
from deploy.commands import lock as lock_commands
from deploy.config import DeployConfig
from deploy.errors import DeployError
from tests.harness.mockremote import names
from tests.harness.swarm_node import Node

P = names()
SPEC = {"Image": "mysite-django:20261124100509-bbbbbbb",
        "Env": ["DJANGO_SECRET_KEY_FILE=/run/secrets/django_secret_key", "DJANGO_ALLOWED_HOSTS=blog.example"],
        "Secrets": [{"File": {"Name": "django_secret_key"}, "SecretName": "mysite_django_secret_key_aaaaaaaaaaaa"},
                    {"File": {"Name": "database_url"}, "SecretName": "mysite_database_url_bbbbbbbbbbbb"}]}
MIGRATE = "mysite_migrate_20261124100509_bbbbbbb"


def manager_with(spec: dict | None) -> Node:
    return Node("deploy@a:22", {
        swarm.task_container(P, swarm.POSTGRES_SERVICE): "pg1\n",
        swarm.container_spec(P, P.alias): json.dumps(spec) + "\n" if spec else "",
        swarm.job_state(MIGRATE): "Complete 2 seconds ago\n"})


def restore(tmp_path, manager):
    dump = tmp_path / "site.pgdump"
    dump.write_bytes(HEADERS[POSTGRES] + b"rest of the dump")
    swarm_operations.restore([manager], DeployConfig(), str(dump), yes=True)


def test_a_restore_migrates_with_the_serving_releases_one_off_task(tmp_path):
    manager = manager_with(SPEC)
    restore(tmp_path, manager)
    kinds = [next((kind for kind in ("pg_dump", "upload", "pg_restore", "service create", "service rm", "lock")
                   if kind in command), command) for command in manager.sent]
    assert kinds == ["lock", "pg_dump", "upload", "pg_restore", "service rm", "service create", "service rm", "lock"]
    secrets = {target: item["SecretName"] for item in SPEC["Secrets"] for target in [item["File"]["Name"]]}
    assert manager.sent[5] == swarm.job(P, MIGRATE, "mysite-django:20261124100509-bbbbbbb",
                                        "python manage.py migrate --noinput", secrets,
                                        swarm_stack.job_env(envfile.EnvFile("", {
                                            "DJANGO_ALLOWED_HOSTS": "blog.example"})))


def test_a_restore_before_the_first_deploy_leaves_the_migration_to_it(tmp_path, capsys):
    manager = manager_with(None)
    restore(tmp_path, manager)
    assert not any("service create" in command for command in manager.sent)
    assert "the first `fab swarm.deploy` migrates the restored database" in capsys.readouterr().out


def test_a_migration_that_fails_after_a_restore_says_the_data_is_restored(tmp_path):
    manager = manager_with(SPEC)
    manager.answers[swarm.job_state(MIGRATE)] = "Failed 1 second ago\n"
    with pytest.raises(DeployError, match="the database is restored, but migrating it to 20261124100509-bbbbbbb "
                                          "failed: .* run `fab swarm.manage migrate`"):
        restore(tmp_path, manager)


def test_a_cluster_backup_is_readable_by_its_owner_only_even_while_it_downloads(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(swarm_operations, "dump_database", lambda hosts, names, config, label: "/srv/b.pgdump")
    node = Node("deploy@a:22", {})
    modes = []

    def get(remote_path, local):  # as Fabric's sftp get does: open for writing, keep the file's mode
        modes.append(stat.S_IMODE(os.stat(local).st_mode))
        with open(local, "wb") as handle:
            handle.write(HEADERS[POSTGRES])

    monkeypatch.setattr(node, "get", get, raising=False)
    monkeypatch.setattr(swarm_operations, "db_host", lambda hosts, config: node)
    (tmp_path / "backups").mkdir(mode=0o755)
    (tmp_path / "backups").chmod(0o755)
    chosen = tmp_path / "mine.pgdump"
    chosen.write_bytes(b"an older file")
    chosen.chmod(0o644)
    umask = os.umask(0o022)
    try:
        saved = swarm_operations.backup_to([node], DeployConfig())
        swarm_operations.backup_to([node], DeployConfig(), str(chosen))
    finally:
        os.umask(umask)
    assert modes == [0o600, 0o600] and saved.startswith("backups/cluster-")
    assert stat.S_IMODE((tmp_path / "backups").stat().st_mode) == 0o700


def test_manage_runs_in_the_app_task_of_any_node_under_the_managers_lock(monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    manager, worker = Node("deploy@a:22", {}), Node("deploy@b:22", {swarm.task_container(P, P.alias): "app1\n"})
    swarm_operations.manage([manager, worker], DeployConfig(), ["seed_demo", "--posts", "3"])
    assert [command.split()[0] for command in manager.sent] == ["mkdir", "rm"], manager.sent  # take, release
    assert lock_commands.release_lock(P.lock) == manager.sent[-1] and P.lock in manager.sent[0]
    assert worker.sent == [docker.manage("app1", ["seed_demo", "--posts", "3"], False)]


def test_manage_with_no_app_task_anywhere_takes_no_lock():
    manager = Node("deploy@a:22", {})
    with pytest.raises(DeployError, match="no app task runs on any node"):
        swarm_operations.manage([manager], DeployConfig(), ["check"])
    assert manager.sent == []
