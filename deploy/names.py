"""The naming contract: every name and path a deploy uses, derived once from the configuration.

``Names.of(config, home)`` answers the app root and its folders, the env files, images, containers,
volumes, the network, labels, the compose project and the compose environment, every Docker name from
``app_name`` (the default, ``mysite``, is the blog's). Nothing else computes them, and code that reads a
name back (a release from a container's name) asks here too; docs/ARCHITECTURE.md lists them.
"""

from dataclasses import dataclass
from posixpath import dirname, join, normpath

from deploy.checks import RELEASE_NAME  # noqa: F401 - part of the naming contract, checked in checks
from deploy.config import AppConfig, DeployConfig

# The toolkit's own name, for what is the same whatever the app: the files of the nginx image it builds
# (/mysite-entrypoint.sh, /etc/nginx/mysite, its state in /etc/letsencrypt/mysite) and the things of this
# machine (the registry's login, lock and temporary folders). Never an app's name: that is app_name.
TOOLKIT = "mysite"
# The app folder's own names: the toolkit's layout, the same for every app
RELEASES, ENVS, BACKUPS = "releases", ".envs", "backups"
DATABASE_VOLUMES = (("database", "/app/database"), ("media", "/app/media"))
# Every release's archive holds the toolkit's Django app here, as a wheel an app image installs (deploy/wheel.py)
TOOLKIT_WHEEL_FOLDER = "deploy-toolkit"
SOCKETS = "/run/app-sockets"  # the sockets' volume, in the app containers and in nginx's (production.yml)
SERVING_LINK = "serving.sock"  # the link in it nginx connects through (compose/production/nginx/app-socket.conf)
APP_VOLUMES = (("database", "/app/database"), ("static", "/srv/static"), ("media", "/app/media"),
               ("sockets", SOCKETS))


@dataclass(frozen=True)
class Names:
    config: DeployConfig
    root: str  # the app folder on the server, absolute

    @classmethod
    def of(cls, config: DeployConfig, home: str) -> "Names":
        """``app_path`` made absolute: relative paths are under the SSH user's home."""
        return cls(config, normpath(join(home, config.app_path)))

    # --- the app folder -------------------------------------------------------------------------
    @property
    def releases(self) -> str:
        return f"{self.root}/{RELEASES}"

    @staticmethod
    def current_target(release: str) -> str:
        """What ``current`` points at: relative, so the app folder can move."""
        return f"{RELEASES}/{release}"

    def release(self, name: str) -> str:
        return f"{self.releases}/{name}"

    def upload(self, release: str) -> str:
        """Where the release's archive lands before it is unpacked."""
        return f"{self.releases}/.{release}.tar"

    @property
    def current(self) -> str:
        return f"{self.root}/current"

    @property
    def shared(self) -> str:
        return f"{self.root}/shared"

    @property
    def envs(self) -> str:
        return f"{self.shared}/{ENVS}"

    @property
    def env_file(self) -> str:
        """The uploaded copy of the local env file (mode 600, never in a release or an image)."""
        return f"{self.envs}/.production"

    @property
    def nginx_env(self) -> str:
        """The env file nginx reads: only the names it serves (never the secret key)."""
        return f"{self.envs}/.nginx"

    @property
    def postgres_env(self) -> str:
        """The env file the bundled PostgreSQL reads: only its POSTGRES_* values."""
        return f"{self.envs}/.postgres"

    @property
    def litestream_env(self) -> str:
        """The env file Litestream reads: only its LITESTREAM_SFTP_* secrets (the app never holds them)."""
        return f"{self.envs}/.litestream"

    @property
    def litestream_config(self) -> str:
        """litestream.yml, written by a deploy with a backup target: where to copy, the target's host key."""
        return f"{self.shared}/litestream.yml"

    @property
    def https_env(self) -> str:
        """`fab https` writes DJANGO_HTTPS=true here, beside the env file, so the user's file stays as it is."""
        return f"{dirname(self.env_file)}/.https"

    @property
    def ca_bundle(self) -> str:
        return f"{self.shared}/acme-ca.pem"

    @property
    def backups(self) -> str:
        return f"{self.root}/{BACKUPS}"

    @property
    def lock(self) -> str:
        return f"{self.root}/.deploy.lock"

    @property
    def audit(self) -> str:
        return f"{self.root}/audit.log"

    # --- Docker ---------------------------------------------------------------------------------
    @property
    def project(self) -> str:
        """The compose project name; also the prefix of volumes, the network and containers."""
        return self.config.app_name

    def scoped(self, name: str) -> str:
        """A name in the project's namespace, as compose and Swarm write them: volumes, the network, a stack's
        services, secrets and one-off jobs."""
        return f"{self.project}_{name}"

    @property
    def network(self) -> str:
        return self.scoped("default")

    def volume(self, name: str) -> str:
        return self.scoped(name)

    def container(self, release: str) -> str:
        """The app container of a release."""
        return f"{self.project}-{release}"

    def release_of(self, container: str) -> str:
        """The release an app container (``container``'s name) runs: its name without the project's prefix."""
        return container.removeprefix(f"{self.project}-")

    def one_off(self, what: str) -> str:
        """A one-off container's name, e.g. ``mysite-certbot-renew``."""
        return f"{self.project}-{what}"

    @property
    def default_nginx(self) -> str:
        """nginx's container name when the server cannot be asked (a dry run)."""
        return f"{self.project}-nginx"

    @property
    def alias(self) -> str:
        return app_service(self.project)

    def label(self, key: str) -> str:
        return label(self.project, key)

    @property
    def app_repository(self) -> str:
        """The app image's repository: only this app's images are in it (pruning lists it)."""
        return f"{self.project}-django"

    @property
    def nginx_repository(self) -> str:
        return f"{self.project}-nginx"

    def app_image(self, release: str) -> str:
        return f"{self.app_repository}:{release}"

    def nginx_image(self, release: str) -> str:
        return f"{self.nginx_repository}:{release}"

    @property
    def container_env(self) -> dict[str, str]:
        """What the app's containers and one-offs are told of the app contract (``app:`` in fabric.yaml)."""
        return {"DJANGO_SETTINGS_MODULE": self.config.app.settings, **app_environment(self.config.app)}

    def mounts(self, volumes: tuple[tuple[str, str], ...] = APP_VOLUMES) -> list[str]:
        """``-v`` words of the app container's volumes (production.yml's list)."""
        return [f"-v {self.volume(name)}:{path}" for name, path in volumes]

    # --- compose --------------------------------------------------------------------------------
    def compose_env(self, release: str | None = None) -> dict[str, str]:
        """What production.yml reads: the release's tag (when given), the env file and nginx's ports."""
        config = self.config
        return environment(tag=release, env_file=self.env_file, nginx_env_file=self.nginx_env,
                                   postgres_env_file=self.postgres_env,
                                   http_addr=config.http_addr, http_port=config.http_port,
                                   https_port=config.https_port, app=config.app)

    @property
    def stack_app_env(self) -> dict[str, str]:
        """What swarm.yml reads of the app contract (it hands them to the app's tasks and nginx's)."""
        return {"MYSITE_APP_SETTINGS": self.config.app.settings, **app_environment(self.config.app)}

    @property
    def unit(self) -> str:
        """The systemd unit (and supervisor program) that `fab systemd`/`fab supervisor` install."""
        return f"{self.config.app_name}.service"


def app_service(project: str) -> str:
    """The app's compose (and Swarm) service, and the network alias nginx proxies to: the app's own name.

    The stack file names its app service so (production.yml: ``mysite``); nginx gets it as MYSITE_APP_ALIAS.
    """
    return project


def label(project: str, key: str) -> str:
    """A label key of ours, in the app's namespace: ``mysite.project``, ``mysite.release``, ``mysite.db``."""
    return f"{project}.{key}"


def app_environment(app: AppConfig) -> dict[str, str]:
    """What the app image reads of the contract (start.sh, gunicorn.conf.py, healthcheck.py; nginx the port),
    each with the blog's value as its default there. The settings module is Django's own DJANGO_SETTINGS_MODULE."""
    return {"MYSITE_APP_WSGI": app.wsgi, "MYSITE_APP_PORT": str(app.port), "MYSITE_APP_HEALTH_PATH": app.health_path}


def environment(*, env_file: str, http_addr: str, http_port: int, https_port: int,
                tag: str | None = None, nginx_env_file: str | None = None,
                postgres_env_file: str | None = None, app: AppConfig | None = None) -> dict[str, str]:
    """The variables production.yml reads (see docs/ARCHITECTURE.md), in the order they are written.

    ``nginx_env_file`` and ``postgres_env_file`` hold only what nginx and PostgreSQL read (a server's);
    without them both read ``env_file`` (fine on a laptop). Without ``app``, production.yml's defaults (the blog's).
    """
    env = {"MYSITE_TAG": tag} if tag else {}
    env["MYSITE_ENV_FILE"] = env_file
    env["MYSITE_NGINX_ENV_FILE"] = nginx_env_file or env_file
    env["MYSITE_POSTGRES_ENV_FILE"] = postgres_env_file or env_file
    # compose 1.29 reads every service's env file, those of a profile that is off too: one that exists. A deploy
    # with a backup target points it at Litestream's own file (deploy/commands/litestream.py)
    env["MYSITE_LITESTREAM_ENV_FILE"] = env_file
    env.update({"MYSITE_HTTP_ADDR": http_addr, "MYSITE_HTTP_PORT": str(http_port),
                "MYSITE_HTTPS_PORT": str(https_port)})
    if app:
        env.update(app_environment(app))
    return env
