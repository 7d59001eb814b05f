"""The unit files of `fab systemd` and `fab supervisor` (deploy/templates), filled in for one server."""

from pathlib import Path

from deploy.names import Names

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def render(template: str, **values: object) -> str:
    return (TEMPLATES / template).read_text().format(**values)


def supervisor_program(names: Names, *, user: str, home: str, compose: str, log_dir: str) -> str:
    env = ",".join(f'{key}="{value}"' for key, value in names.compose_env().items())
    config = names.config
    return render("supervisor.ini", app_name=config.app_name, compose=compose, current=names.current, user=user,
                  home=home, log_dir=log_dir, stop_wait=config.stop_timeout + 10, env=env,
                  container_prefix=names.container(""))


def systemd_unit(names: Names, *, user: str, home: str, compose: str) -> str:
    env = " ".join(f"{key}={value}" for key, value in names.compose_env().items())
    config = names.config
    return render("systemd.service", app_name=config.app_name, compose=compose, current=names.current, user=user,
                  home=home, stop_timeout=config.stop_timeout, env=env, container_prefix=names.container(""))
