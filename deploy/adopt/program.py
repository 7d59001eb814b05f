"""``mysite-deploy init``: `fab init` for a project that has no fabfile.py yet (`fab` finds tasks only through
one). The console script of the distribution (pyproject.toml); it knows this one task."""

from fabric import Config
from fabric.main import Fab
from invoke import Collection

from deploy.fab import init

PROGRAM = Fab(name="mysite-deploy", binary="mysite-deploy", namespace=Collection(init), config_class=Config)


def main() -> None:
    PROGRAM.run()
