"""What the app image and the stack need beside the Dockerfile, laid out as the blog's: the app image's start files
(compose/production/django/), the nginx image's folder (compose/production/nginx/) and production.yml.

The start files and the nginx folder are the toolkit's own, copied as they are: deploy/adopt/stack/ (package data)
links to the blog's compose/production/ folders, so the blog's committed files are what init writes. The nginx
image belongs to the engine (its entrypoint's subcommands, its socket routing): it takes the app's name from
MYSITE_APP_ALIAS, which production.yml sets.
"""

from pathlib import Path
from string import Template

from deploy.adopt.detect import Project
from deploy.adopt.image import FOLDER, LOCK_SCRIPT, uses_lock_script

STACK = Path(__file__).with_name("stack")  # django -> compose/production/django, nginx -> compose/production/nginx
TEMPLATE = Path(__file__).with_name("templates") / "production.yml"
NGINX = "compose/production/nginx"
# start.sh's duties: migrate (unless a deploy did), collect, compress and publish static files, size and start gunicorn
START_FILES = ("start.sh", "gunicorn.conf.py", "gunicorn_sizing.py", "warm_worker.py", "gzip_static.py",
               "publish_static.py", "healthcheck.py", "litestream.txt")


def start_files(project: Project) -> list[tuple[str, str]]:
    """(path in the project, text) of the app image's start files; lock2req.py too for a Pipfile.lock."""
    names = [*START_FILES, *([LOCK_SCRIPT] if uses_lock_script(project.dependencies) else [])]
    return [(f"{FOLDER}/{name}", (STACK / "django" / name).read_text(encoding="utf-8")) for name in names]


def nginx_files() -> list[tuple[str, str]]:
    """(path in the project, text) of every file of the nginx image's folder, sorted."""
    folder = STACK / "nginx"
    return [(f"{NGINX}/{path.name}", path.read_text(encoding="utf-8"))
            for path in sorted(folder.iterdir()) if path.is_file()]


def production_yml(project: Project) -> str:
    return Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
        name=project.name, python=project.python.version, wsgi=project.wsgi)
