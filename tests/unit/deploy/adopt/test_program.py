"""deploy/adopt/program.py and the `init` task: `mysite-deploy init` in a project with no fabfile.py yet, then
`fab init` through the two-line fabfile it wrote; a refusal is `error: <one line>` and exit 1, no traceback."""

import re
import tomllib
from pathlib import Path

import pytest
from fabric.main import make_program

from deploy.adopt import program
from testbed.adopt_projects import commit, flat_project, snapshot, write

ROOT = Path(__file__).resolve().parents[4]


def test_the_distribution_installs_the_console_script():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["scripts"] == {"mysite-deploy": "deploy.adopt.program:main"}


def test_mysite_deploy_init_adopts_a_project_then_fab_init_runs_through_its_fabfile(tmp_path, monkeypatch, capsys):
    root = flat_project(tmp_path)
    monkeypatch.chdir(root)
    program.PROGRAM.run(["mysite-deploy", "init"])
    assert "Wrote 31 file(s); left 0 alone." in capsys.readouterr().out
    (root / "fabric.yaml").write_text("# edited\n" + (root / "fabric.yaml").read_text())
    before = snapshot(root)

    make_program().run(["fab", "--search-root", str(root), "init", "--force", "fabric.yaml"])
    assert "Wrote 1 file(s); left 30 alone." in capsys.readouterr().out
    assert {name for name, data in snapshot(root).items() if before[name] != data} == {"fabric.yaml"}

    with pytest.raises(SystemExit) as listed:
        make_program().run(["fab", "--search-root", str(root), "--list"])
    assert listed.value.code == 0
    listing = capsys.readouterr().out
    assert re.search(r"^  init +Adopt the Django project in this folder: detect it,", listing, re.M), listing
    assert "  deploy  " in listing


def test_a_refusal_is_one_line_and_exit_1(tmp_path, monkeypatch, capsys):
    root = commit(write(tmp_path, {"README.md": "no Django here\n"}))
    monkeypatch.chdir(root)
    with pytest.raises(SystemExit) as stopped:
        program.PROGRAM.run(["mysite-deploy", "init"])
    assert stopped.value.code == 1
    captured = capsys.readouterr()
    assert captured.err == (f"error: no manage.py in {root}: run fab init at the root of a Django project (the "
                            "folder that holds manage.py)\n")
    assert captured.out == ""


def test_mysite_deploy_knows_init_only(capsys):
    with pytest.raises(SystemExit) as listed:
        program.PROGRAM.run(["mysite-deploy", "--list"])
    assert listed.value.code == 0
    tasks = [line.split()[0] for line in capsys.readouterr().out.splitlines() if line[:3].strip() and line[:2] == "  "]
    assert tasks == ["init"]
