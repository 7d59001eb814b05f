"""deploy/adopt/run.py, `fab init` itself, on projects made by startproject: the report comes first, every
refusal is one line and writes nothing, an existing file is never overwritten, --force replaces exactly one."""

import pytest

from deploy.adopt import run
from deploy.errors import DeployError
from testbed.adopt_projects import commit, flat_project, snapshot, split_project, startproject, write

OLD_DJANGO = "VERSION = (2, 1, 15, 'final', 0)\n\ndef get_version():\n    return '2.1.15'\n"


def no_manage_py(tmp_path):
    return commit(write(tmp_path, {"README.md": "not Django\n"})), "no manage.py in {root}: run fab init at the root " \
        "of a Django project (the folder that holds manage.py)"


def no_git(tmp_path):
    return write(startproject(tmp_path), {"requirements.txt": "django\n"}), (
        "{root} is not in a git repository: a deploy ships the committed HEAD; run `git init && git add -A && git "
        "commit -m 'first commit'` first")


def no_dependency_file(tmp_path):
    return commit(startproject(tmp_path)), (
        "no dependency file in {root} (Pipfile, poetry.lock, uv.lock, requirements.txt, requirements/*.txt or "
        "pyproject.toml with [project] dependencies): write one that lists Django, e.g. `pip freeze > "
        "requirements.txt`")


def old_django(tmp_path):
    # the project's folder is first on the settings' path, as for manage.py: a Django 2.1 there is the one it gets
    root = write(startproject(tmp_path), {"requirements.txt": "django<2.2\n", "django/__init__.py": OLD_DJANGO})
    return commit(root), (
        "Django 2.1.15 is older than 2.2, the oldest the toolkit deploys: upgrade Django first")


def settings_do_not_import(tmp_path):
    root = startproject(tmp_path)
    settings = root / "demo" / "settings.py"
    settings.write_text(settings.read_text() + "\nfrom .local_secrets import *  # a git-ignored file, absent here\n")
    return commit(write(root, {"requirements.txt": "django\n"})), (
        "the settings demo.settings do not import: ModuleNotFoundError: No module named 'demo.local_secrets': fix "
        "them so that `python manage.py check` runs")


@pytest.mark.parametrize("make", [no_manage_py, no_git, no_dependency_file, old_django, settings_do_not_import])
def test_each_refusal_is_one_line_and_writes_nothing(tmp_path, capsys, make):
    root, message = make(tmp_path)
    before = snapshot(root)
    with pytest.raises(DeployError) as refused:
        run.init(root)
    assert str(refused.value) == message.format(root=root)
    assert snapshot(root) == before
    assert capsys.readouterr().out == ""  # nothing reported as detected or written either


def test_init_reports_then_writes_every_file_of_a_startproject(tmp_path, capsys):
    root = flat_project(tmp_path)
    run.init(root)
    out = capsys.readouterr().out
    assert out.startswith("Detected:\n  project       ")
    assert out.index("Files:") < out.index("Next:") < out.index("Wrote 31 file(s); left 0 alone.")
    assert (root / "fabric.yaml").is_file() and (root / "demo" / "deploy_settings.py").is_file()


def test_init_never_overwrites_and_force_replaces_exactly_one(tmp_path, capsys):
    root = split_project(tmp_path)
    write(root, {"fabric.yaml": "# mine\n", ".dockerignore": "# mine\n"})
    run.init(root)
    assert (root / "fabric.yaml").read_text() == "# mine\n"
    assert (root / ".dockerignore").read_text() == "# mine\n"
    out = capsys.readouterr().out
    assert "  left alone  fabric.yaml: it exists (fab init --force fabric.yaml replaces it)" in out
    assert "Wrote 28 file(s); left 2 alone." in out

    urls = root / "shop" / "deploy_urls.py"
    urls.write_text(urls.read_text() + "# edited\n")  # still urls: a broken one is refused (check --deploy)
    after_first = snapshot(root)
    run.init(root)
    assert snapshot(root) == after_first
    assert capsys.readouterr().out.endswith("Wrote nothing: every file exists (fab init --force FILE replaces one).\n")

    run.init(root, force="fabric.yaml")
    changed = {name for name, data in snapshot(root).items() if after_first.get(name) != data}
    assert changed == {"fabric.yaml"}
    assert "name: shop" in (root / "fabric.yaml").read_text()
    assert "Wrote 1 file(s); left 29 alone." in capsys.readouterr().out


def test_an_unknown_force_is_refused_before_anything_is_written(tmp_path, capsys):
    root = flat_project(tmp_path)
    before = snapshot(root)
    with pytest.raises(DeployError, match="^--force Dockerfile: fab init writes no such file; it writes "):
        run.init(root, force="Dockerfile")
    assert snapshot(root) == before
    assert capsys.readouterr().out == ""
