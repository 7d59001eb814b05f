"""The naming contract: every name and path a deploy uses, derived once from the configuration.

``Names.of(config, home)`` answers the app root and its folders, the env files, images, containers,
volumes, the network, the compose project and the compose environment. Nothing else computes them;
docs/ARCHITECTURE.md lists them.
"""

from dataclasses import dataclass
from posixpath import dirname, join, normpath

from deploy.checks import RELEASE_NAME  # noqa: F401 - part of the naming contract, checked in checks
from deploy.config import DeployConfig

ALIAS = "mysite"  # the app service; nginx proxies to it (compose/production/nginx/mysite.conf.template)
APP_IMAGE = "mysite-django"  # production.yml names the images
NGINX_IMAGE = "mysite-nginx"
DATABASE_VOLUMES = (("database", "/app/database"), ("media", "/app/media"))
SOCKETS = "/run/app-sockets"  # the sockets' volume, in the app containers and in nginx's (production.yml)
SERVING_LINK = "serving.sock"  # the link in it nginx connects through (compose/production/nginx/app-socket.conf)
APP_VOLUMES = (("database", "/app/database"), ("static", "/app/staticfiles"), ("media", "/app/media"),
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
        return f"{self.root}/releases"

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
        return f"{self.shared}/.envs"

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
    def https_env(self) -> str:
        """`fab https` writes DJANGO_HTTPS=true here, beside the env file, so the user's file stays as it is."""
        return f"{dirname(self.env_file)}/.https"

    @property
    def ca_bundle(self) -> str:
        return f"{self.shared}/acme-ca.pem"

    @property
    def backups(self) -> str:
        return f"{self.root}/backups"

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

    @property
    def network(self) -> str:
        return f"{self.project}_default"

    def volume(self, name: str) -> str:
        return f"{self.project}_{name}"

    def container(self, release: str) -> str:
        """The app container of a release."""
        return f"{self.project}-{release}"

    @staticmethod
    def socket(container: str) -> str:
        """An app container's own unix socket, beside nginx's link to the serving one."""
        return f"{container}.sock"

    def one_off(self, what: str) -> str:
        """A one-off container's name, e.g. ``mysite-certbot-renew``."""
        return f"{self.project}-{what}"

    @property
    def default_nginx(self) -> str:
        """nginx's container name when the server cannot be asked (a dry run)."""
        return f"{self.project}-nginx"

    @staticmethod
    def app_image(release: str) -> str:
        return f"{APP_IMAGE}:{release}"

    @staticmethod
    def nginx_image(release: str) -> str:
        return f"{NGINX_IMAGE}:{release}"

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
                                   https_port=config.https_port)

    @property
    def unit(self) -> str:
        """The systemd unit (and supervisor program) that `fab systemd`/`fab supervisor` install."""
        return f"{self.config.app_name}.service"


def environment(*, env_file: str, http_addr: str, http_port: int, https_port: int,
                tag: str | None = None, nginx_env_file: str | None = None,
                postgres_env_file: str | None = None) -> dict[str, str]:
    """The variables production.yml reads (see docs/ARCHITECTURE.md), in the order they are written.

    ``nginx_env_file`` and ``postgres_env_file`` hold only what nginx and PostgreSQL read (a server's);
    without them both read ``env_file`` (fine on a laptop).
    """
    env = {"MYSITE_TAG": tag} if tag else {}
    env["MYSITE_ENV_FILE"] = env_file
    env["MYSITE_NGINX_ENV_FILE"] = nginx_env_file or env_file
    env["MYSITE_POSTGRES_ENV_FILE"] = postgres_env_file or env_file
    env.update({"MYSITE_HTTP_ADDR": http_addr, "MYSITE_HTTP_PORT": str(http_port),
                "MYSITE_HTTPS_PORT": str(https_port)})
    return env
