"""The engine never imports the site, and the toolkit's Django app never imports the engine.

The engine (deploy/) deploys any Django project: it reads the project's files and runs its manage.py, but
imports none of its modules. The toolkit's Django app (deploy/djangoapp) runs inside the site's image,
which holds only that folder of deploy/ (.dockerignore): it imports nothing else of deploy/.
"""

from pathlib import Path

import pytest

from tests.harness.layering import Tree

ROOT = Path(__file__).resolve().parents[3]
ENGINE = Tree.of(ROOT, [ROOT / "deploy"])
APP = ROOT / "deploy" / "djangoapp"
# the repository's own top-level packages besides deploy: the blog's project and app, and the tooling around
OTHER_PACKAGES = sorted(p.name for p in ROOT.iterdir() if (p / "__init__.py").exists() and p.name != "deploy")


def foreign(tree: Tree, path: Path, allowed: str) -> set[str]:
    """What ``path`` imports of this repository outside the package ``allowed``."""
    mine = {*OTHER_PACKAGES, "deploy"}
    return {name for name in tree.imports(path) if name.partition(".")[0] in mine
            and name != allowed and not name.startswith(allowed + ".")}


def test_the_check_sees_an_engine_module_import_the_site(tmp_path):
    (tmp_path / "deploy" / "djangoapp").mkdir(parents=True)
    bad = tmp_path / "deploy" / "envfile.py"
    bad.write_text("from mysite.keycheck import secret_key_problem\nimport deploy.errors\n")
    app = tmp_path / "deploy" / "djangoapp" / "health.py"
    app.write_text("from deploy.errors import DeployError\nfrom . import readonly\n")
    tree = Tree.of(tmp_path, [tmp_path / "deploy"])
    assert foreign(tree, bad, "deploy") == {"mysite.keycheck", "mysite.keycheck.secret_key_problem"}
    assert foreign(tree, app, "deploy.djangoapp") == {"deploy.errors", "deploy.errors.DeployError"}


def test_the_other_packages_are_known():
    assert {"mysite", "blog"} <= set(OTHER_PACKAGES)


@pytest.mark.parametrize("path", [p for p in ENGINE.paths if APP not in p.parents],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_the_engine_imports_no_module_of_the_site(path):
    assert foreign(ENGINE, path, "deploy") == set()


@pytest.mark.parametrize("path", [p for p in ENGINE.paths if APP in p.parents], ids=lambda p: str(p.relative_to(ROOT)))
def test_the_django_app_imports_nothing_of_the_engine(path):
    assert foreign(ENGINE, path, "deploy.djangoapp") == set()


def test_the_app_image_holds_the_django_app():
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignored.index("!deploy/djangoapp/") > ignored.index("deploy/")  # the later line wins
    assert "!deploy/__init__.py" in ignored
