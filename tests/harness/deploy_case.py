"""One `fab deploy` in the fake machine: its configuration, release names and the exact commands of each step.

Shared by the tests of the deploy pipeline, the warm rollback and PostgreSQL (tests/unit/deploy/).
"""

from pathlib import Path

from fabric.testing.base import Command, MockRemote

from deploy import lock, pipeline, releases
from deploy.commands import backup, compose, database, docker, health, litestream, shell, system, warm
from deploy.commands import lock as lock_commands
from deploy.commands import releases as commands
from deploy.config import AppConfig, DeployConfig
from tests.harness.mockremote import names, remote, routed, session

KEY = "k8#Jd0-vQ2!xL9pZ3@tR7^wY1&nB5*cF6(hM4)sG8_eA2+uK0qW"
CFG = DeployConfig(keep_releases=2, keep_backups=2)
P = names(CFG)
SHA = "bbbbbbb" + "0" * 33
NEW, OLD = "20261124100509-bbbbbbb", "20261123090000-aaaaaaa"
NEW_C, OLD_C = f"mysite-{NEW}", f"mysite-{OLD}"
LOCK = lock_commands.take(P.root, P.lock, "HOLDER")
UNLOCK = lock_commands.release_lock(P.lock)
NO_COPIES = litestream.stop(P)  # a deploy without a backup target: no replication container (prints nothing)


def pinned_project(tmp_path, monkeypatch):
    """A project folder with a good env file; git and the clock pinned."""
    (tmp_path / ".envs").mkdir()
    (tmp_path / ".envs/.production").write_text(f"DJANGO_SECRET_KEY='{KEY}'\nDJANGO_ALLOWED_HOSTS=blog.example\n")
    monkeypatch.setattr(releases, "repo_root", lambda cwd=None: tmp_path)
    monkeypatch.setattr(releases, "source", lambda dirty, cwd=None: (SHA, False))
    monkeypatch.setattr(releases, "archive", lambda sha, out, cwd=None: Path(out).write_bytes(b"TAR"))
    monkeypatch.setattr(releases, "has_file", lambda sha, path, cwd=None: path == "production.yml")
    monkeypatch.setattr(releases, "name", lambda sha, now=None: NEW)
    monkeypatch.setattr(lock, "holder", lambda sha, action="deploy", now=None: "HOLDER")
    monkeypatch.setattr(releases, "audit_line", lambda **k: f"{k['action']} {k['release']} {k['result']}")
    return tmp_path


def audit(action, release, result):
    return commands.append_audit(P, f"{action} {release} {result}")


def preflight(v="v1"):
    return [Command(compose.detect(), out=f"{v}\n".encode()), "docker info --format '{{.ServerVersion}}'"]


def port(number, out=b"", exit=0):
    return Command(shell.sudo(system.port_holders(number)), out=out, exit=exit)


PORTS = [port(80), port(443)]  # free, or published by this site's own nginx


CURRENT_OLD = f"releases/{OLD}".encode()


def until_build(current=CURRENT_OLD, url=b""):
    same_database = [Command(commands.env_value(P.env_file, "DATABASE_URL"), out=url),
                     Command(database.applied_migrations(OLD_C))] if current else []
    return [*preflight(), *PORTS, Command(commands.read_current(P), out=current), *same_database, LOCK,
            commands.prepare_dirs(P),
            commands.unpack(P, NEW, f"{P.releases}/.{NEW}.tar"),
            commands.install_env(f"{P.env_file}.upload", P.env_file),
            commands.install_env(f"{P.nginx_env}.upload", P.nginx_env),
            commands.install_env(f"{P.postgres_env}.upload", P.postgres_env)]


BUILD = compose.stack(P, NEW, "build", kind="v1")
BACKUP = ["docker volume inspect mysite_database >/dev/null 2>&1",
          backup.backup(P, NEW, f"{P.backups}/{NEW}.sqlite3"),
          Command(f"ls -1 {P.backups}", out=f"{OLD}.sqlite3\n20261101000000-manual.sqlite3\n{NEW}.sqlite3\n".encode()),
          f"cd {P.backups} && rm -f -- 20261101000000-manual.sqlite3"]
CHECK_THEN_MIGRATE = compose.stack(P, NEW, "run --rm --no-deps -T mysite sh -c 'python manage.py check --deploy "
                                   "--no-color 2>&1 && echo check-deploy:done && exec python manage.py migrate "
                                   "--noinput'", kind="v1")
CHECK_WARNINGS = (b"System check identified some issues:\n\nWARNINGS:\n?: (security.W004) You have not set a value "
                  b"for the SECURE_HSTS_SECONDS setting. If your entire site...\n?: (security.W008) Your "
                  b"SECURE_SSL_REDIRECT setting is not set to True. Unless...\n\nSystem check identified 2 issues "
                  b"(0 silenced).\ncheck-deploy:done\nOperations to perform:\n  Apply all migrations: blog\n")
MIGRATE = [Command(CHECK_THEN_MIGRATE, out=CHECK_WARNINGS)]
NGINX = [Command(docker.nginx_container("mysite"), out=b"mysite_nginx_1\n"),
         Command(docker.image_ids("mysite_nginx_1", f"mysite-nginx:{NEW}"), out=b"sha256:1\nsha256:1\n")]
DIRECT = health.direct_check(NEW_C, "blog.example", CFG.health_timeout, AppConfig())
VIA_NGINX = health.nginx_check("mysite_nginx_1", "blog.example", CFG.health_timeout, AppConfig())
WARM = warm.listing("mysite")
STARTED = "2026-11-24T10:05:09.123456789Z"
SWITCH = [Command(docker.app_containers("mysite"), out=f"{OLD_C} Up 1 hour (healthy)\n".encode()),
          Command(WARM, out=f"/{OLD_C} unless-stopped {STARTED}\n".encode()),
          docker.run_app(P, NEW), DIRECT, *routed(P, NEW_C), VIA_NGINX,
          f"docker stop -t 30 {OLD_C} && docker rm {OLD_C}",  # stopped gracefully; a new one of it is warm
          warm.keep(P, OLD, 3), warm.expire(P, OLD_C, 600)]
OLDEST = "20261120000000-0000000"
PRUNE = [Command(commands.listing(P), out=f"{OLDEST}\n{OLD}\n{NEW}\n".encode()),
         Command(commands.image_tags(P), out=f"{NEW}\n{OLD}\n{OLDEST}\n20261001000000-1111111\nlatest\n".encode()),
         commands.remove_release(P, "20261001000000-1111111"), commands.remove_release(P, OLDEST)]


def run_deploy(*commands, uploads=None, monkeypatch=None):
    with MockRemote() as mock:
        mock.expect_sessions(session(*commands))
        pipeline.deploy(remote(monkeypatch, uploads if uploads is not None else []), CFG)
