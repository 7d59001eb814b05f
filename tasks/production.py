"""`inv production.*`: build and run the production images on this machine before a server sees them."""

from __future__ import annotations

import sys

from deploy import checks, envfile
from deploy.arguments import PORT, task
from deploy.commands.compose import APP_SERVICES, BUILD_ENV, EVERY_PROFILE, environment

from . import commands as cmd
from ._run import ROOT, TaskError, compose, in_root, say, user_errors


def _stack_env(port=8080, https_port=8443, addr="127.0.0.1") -> dict[str, str]:
    env_file = ROOT / cmd.PRODUCTION_ENV
    if not env_file.exists():
        raise TaskError(f"{cmd.PRODUCTION_ENV} is missing: create it with `inv production.env --domain example.com`")
    env = environment(env_file=cmd.PRODUCTION_ENV, http_addr=addr, http_port=port, https_port=https_port)
    return {**env, **BUILD_ENV}


def _prod(c, *args: str) -> str:
    return compose(c, cmd.PRODUCTION_FILE, *args, project=cmd.PRODUCTION_PROJECT)


@task(help={"no_cache": "rebuild every layer instead of reusing the cache", "tag": "image tag (default latest)"})
def build(c, no_cache=False, tag="latest"):
    """Build the production images (mysite-django, mysite-nginx) here."""
    with user_errors():
        checks.image_tag(tag)
    with in_root(c):
        env = {**BUILD_ENV, "MYSITE_TAG": tag, "MYSITE_ENV_FILE": cmd.PRODUCTION_EXAMPLE,
               "MYSITE_NGINX_ENV_FILE": cmd.PRODUCTION_EXAMPLE, "MYSITE_POSTGRES_ENV_FILE": cmd.PRODUCTION_EXAMPLE,
               "MYSITE_LITESTREAM_ENV_FILE": cmd.PRODUCTION_EXAMPLE}
        c.run(_prod(c, "build", *(["--no-cache"] if no_cache else [])), env=env)


@task(
    help={
        "port": "host port for HTTP (default 8080)",
        "https_port": "host port for HTTPS (default 8443)",
        "addr": "host address to publish on (default 127.0.0.1: this machine only)",
    },
    limits={"port": PORT, "https_port": PORT},
)
def up(c, port=8080, https_port=8443, addr="127.0.0.1"):
    """Start the production stack (nginx + gunicorn) here, on --port."""
    with user_errors():
        checks.ipv4(addr, "--addr")
        checks.distinct_ports(port=port, https_port=https_port)
    env = _stack_env(port, https_port, addr)
    with in_root(c):
        c.run(_prod(c, "up", "--detach", "--build", *APP_SERVICES), env=env)
    say(
        f"production stack up: http://{addr}:{port}/ answers for the hosts in {cmd.PRODUCTION_ENV} "
        "(e.g. curl -H 'Host: example.com' ...); inv production.down stops it"
    )


@task(help={"volumes": "also delete the production volumes here (database, static, media, certificates)"})
def down(c, volumes=False):
    """Stop and remove the production stack here."""
    env = _stack_env()
    with in_root(c):
        c.run(_prod(c, EVERY_PROFILE, "down", *(["--volumes"] if volumes else [])), env=env)


@task(help={"follow": "keep following new log lines", "tail": "how many recent lines to show (default 200)"})
def logs(c, follow=False, tail=200):
    """Show the production stack's logs (nginx and gunicorn)."""
    env = _stack_env()
    with in_root(c):
        c.run(_prod(c, EVERY_PROFILE, "logs", f"--tail={int(tail)}", *(["--follow"] if follow else [])), env=env,
              pty=sys.stdin.isatty())


@task(help={"domain": "the site's domain; a comma list adds more host names (e.g. example.com,www.example.com)",
            "postgres": "use the bundled PostgreSQL (a fresh password and DATABASE_URL) instead of SQLite"})
def env(c, domain, postgres=False):
    """Create .envs/.production with a fresh secret key (never overwrites)."""
    target = ROOT / cmd.PRODUCTION_ENV
    with user_errors():
        hosts = envfile.create(target, ROOT / cmd.PRODUCTION_EXAMPLE, domain, postgres=postgres)
    database = "the bundled PostgreSQL (fresh password)" if postgres else "SQLite"
    say(f"wrote {target.relative_to(ROOT)} (mode 600) for {hosts} with a fresh secret key, on {database}")


@task(help={"tag": "image tag to check (default latest)"})
def check(c, tag="latest"):
    """Run Django's `check --deploy` inside the production image."""
    with user_errors():
        checks.image_tag(tag)
    env_ = {**_stack_env(), "MYSITE_TAG": tag}
    with in_root(c):
        c.run(_prod(c, "run", "--rm", "--no-deps", cmd.APP_SERVICE, cmd.manage("check", "--deploy")), env=env_)
