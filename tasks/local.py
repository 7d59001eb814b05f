"""`inv local.*`: the development stack (local.yml), the article's way of working in containers."""

from __future__ import annotations

import sys

from deploy import checks
from deploy.arguments import task
from deploy.commands.compose import BUILD_ENV

from . import commands as cmd
from ._run import compose, engine_available, in_root, say, user_errors


@task(help={"no_cache": "rebuild every layer instead of reusing the cache"})
def build(c, no_cache=False):
    """Build the development image (dependencies; the code is mounted)."""
    with in_root(c):
        c.run(compose(c, cmd.LOCAL_FILE, "build", *(["--no-cache"] if no_cache else [])), env=BUILD_ENV)


@task(
    help={
        "detach": "start in the background instead of following the logs",
        "posts": "demo posts to seed when running natively without Docker (default 12)",
        "native": "run the dev server with this Python even when Docker is available",
    }
)
def up(c, detach=False, posts=12, native=False):
    """Serve the blog at http://127.0.0.1:8000 (natively if no Docker)."""
    with in_root(c):
        if native or not engine_available(c):
            reason = "--native" if native else "no Docker engine is reachable"
            say(
                f"{reason}: running the same dev server natively with this Python "
                f"({sys.executable}), SQLite in database/"
            )
            for line in cmd.native_dev_server(sys.executable, posts=posts):
                c.run(line, env={"DJANGO_SETTINGS_MODULE": "mysite.settings.local"}, pty=sys.stdin.isatty())
            return
        c.run(
            compose(c, cmd.LOCAL_FILE, "up", "--build", *(["--detach"] if detach else [])),
            env=BUILD_ENV,
            pty=sys.stdin.isatty(),
        )
        if detach:
            say("the blog is at http://127.0.0.1:8000 (inv local.logs to follow, inv local.down to stop)")


@task(help={"volumes": "also delete the development database (the database_local volume)"})
def down(c, volumes=False):
    """Stop and remove the development containers."""
    with in_root(c):
        c.run(compose(c, cmd.LOCAL_FILE, "down", *(["--volumes"] if volumes else [])))


@task(help={"follow": "keep following new log lines", "tail": "how many recent lines to show (default 200)"})
def logs(c, follow=False, tail=200):
    """Show the development server's logs."""
    with in_root(c):
        c.run(
            compose(c, cmd.LOCAL_FILE, "logs", f"--tail={int(tail)}", *(["--follow"] if follow else [])),
            pty=sys.stdin.isatty(),
        )


@task
def ps(c):
    """List the development containers."""
    with in_root(c):
        c.run(compose(c, cmd.LOCAL_FILE, "ps"))


@task(help={"command": 'the manage.py command and its arguments, e.g. "createsuperuser" or "showmigrations blog"'})
def manage(c, command):
    """Run any manage.py command in a development container."""
    with user_errors():
        words = checks.manage_command(command)
    with in_root(c):
        c.run(
            compose(c, cmd.LOCAL_FILE, "run", "--rm", cmd.APP_SERVICE, cmd.manage(*words)),
            pty=sys.stdin.isatty(),
        )


@task
def shell(c):
    """Open a Django shell in a development container."""
    with in_root(c):
        c.run(compose(c, cmd.LOCAL_FILE, "run", "--rm", cmd.APP_SERVICE, cmd.manage("shell")), pty=True)


@task(help={"posts": "how many demo posts to create (default 12; existing ones are kept)"})
def seed(c, posts=12):
    """Fill the development database with demo posts."""
    with in_root(c):
        c.run(
            compose(c, cmd.LOCAL_FILE, "run", "--rm", cmd.APP_SERVICE, cmd.manage("seed_demo", "--posts", str(posts)))
        )
