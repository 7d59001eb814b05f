"""`fab init` runs Django's real `check --deploy` under the overlay it is about to write (deploy/adopt/deploy_check.py),
on projects made by startproject: warnings are reported, an error refuses in one line and nothing is written."""

from pathlib import PurePosixPath

import pytest

from deploy.adopt import files, run
from deploy.adopt.detect import detect
from deploy.errors import DeployError
from testbed.adopt_projects import commit, flat_project, snapshot

WHERE = ("`manage.py check --deploy` under the production settings init writes (demo.deploy_settings: your "
         "demo.settings + the environment)")


def test_the_warnings_are_in_the_report_one_line_each(tmp_path, capsys):
    run.init(flat_project(tmp_path))
    out = capsys.readouterr().out
    section = out[out.index("check --deploy under"):out.index("Files:")]
    assert section == (
        "check --deploy under demo.deploy_settings (a stand-in secret key, DJANGO_HTTPS unset): 4 warnings\n"
        "  ! security.W004: You have not set a value for the SECURE_HSTS_SECONDS setting.\n"
        "  ! security.W008: Your SECURE_SSL_REDIRECT setting is not set to True.\n"
        "  ! security.W012: SESSION_COOKIE_SECURE is not set to True.\n"
        "  ! security.W016: You have 'django.middleware.csrf.CsrfViewMiddleware' in your MIDDLEWARE, but you have "
        "not set CSRF_COOKIE_SECURE to True.\n"
        "  (the HTTPS ones go once the site serves HTTPS, `fab https`, with DJANGO_HTTPS=true in .envs/.production)\n"
        "\n")
    assert out.index("Detected:") < out.index("check --deploy under") < out.index("Wrote 31 file(s)")


def broken(tmp_path, line):
    root = flat_project(tmp_path)
    settings = root / "demo" / "settings.py"
    settings.write_text(settings.read_text() + line)
    return commit(root)


@pytest.mark.parametrize("line, message", [
    # the admin needs Django's template engine: an ERROR of the checks
    ("\nTEMPLATES = []\n", f"{WHERE} reports 1 error (admin.E403): A "
     "'django.template.backends.django.DjangoTemplates' instance must be configured in TEMPLATES in order to use the "
     "admin application. Fix demo.settings so that `python manage.py check --deploy` shows no errors, then run fab "
     "init again; nothing was written"),
    # the settings import, but the overlay cannot (it reads DATABASES['default']): the checks do not run
    ("\nDATABASES = {}\n", f"{WHERE} could not run: KeyError: 'default': fix "
     "demo.settings so that it runs, then run fab init again; nothing was written"),
])
def test_an_error_refuses_in_one_line_and_writes_nothing(tmp_path, capsys, line, message):
    root = broken(tmp_path, line)
    before = snapshot(root)
    with pytest.raises(DeployError) as refused:
        run.init(root)
    assert str(refused.value) == message
    assert snapshot(root) == before
    assert capsys.readouterr().out == ""



def test_the_check_sees_the_example_env_files_values_not_this_shells(tmp_path, monkeypatch):
    """A DATABASE_URL exported where init runs (a PostgreSQL test run, a developer's shell) is not what a deploy's
    env file gives: with it, the overlay would fill the DATABASES the project lacks and the check would pass."""
    monkeypatch.setenv("DATABASE_URL", "postgres://nobody:secret@127.0.0.1:1/none")
    monkeypatch.setenv("DATABASE_URL_FILE", str(tmp_path / "no-such-file"))
    root = broken(tmp_path, "\nDATABASES = {}\n")
    before = snapshot(root)
    with pytest.raises(DeployError, match="could not run: KeyError: 'default'"):
        run.init(root)
    assert snapshot(root) == before


def tree(root) -> set[str]:
    """Every path under ``root`` but git's own, folders too (an empty one left behind is a change)."""
    return {path.relative_to(root).as_posix() for path in root.rglob("*") if ".git" not in path.relative_to(root).parts}


def test_init_changes_the_project_by_the_files_it_writes_alone(tmp_path, monkeypatch):
    """Neither probe leaves anything in the project: no __pycache__ (Python free to write bytecode), and on a
    re-run, where the overlay is the project's own, not the database/ folder it makes at import on SQLite."""
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
    root = flat_project(tmp_path)
    before = tree(root)
    written = {file.path for file in files.plan(detect(root)).write}
    run.init(root)
    folders = {parent.as_posix() for path in written for parent in PurePosixPath(path).parents if parent.name}
    assert tree(root) - before == (written | folders) - before
    after = tree(root)
    run.init(root)  # every file is there now: nothing is written
    assert tree(root) == after

