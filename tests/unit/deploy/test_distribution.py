"""The toolkit as a distribution (pyproject.toml): the wheel holds every file under deploy/, it installs into a fresh
virtualenv that does not see this checkout, and there a project whose fabfile.py is two lines lists the tasks.

About 10 s: one wheel build and one virtualenv for the module, both offline (no build isolation, no index).
"""

import email
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from testbed.adopt_projects import flat_project

ROOT = Path(__file__).resolve().parents[3]
INPUTS = ("pyproject.toml", "README.md")  # besides deploy/: what the build reads
# deploy/adopt/stack/ links to these folders (package data that is the blog's own files): the build follows the links
LINKED = ("compose/production/django", "compose/production/nginx")
TWO_LINE_FABFILE = "from deploy.fab import collection\n\nns = collection(__file__)\n"


def run(argv: list, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(word) for word in argv], cwd=cwd, capture_output=True, text=True, timeout=120,
                          check=False, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from a copy of the distribution's inputs (a build in place leaves build/ in the checkout)."""
    source = tmp_path_factory.mktemp("source")
    for name in INPUTS:
        shutil.copy(ROOT / name, source)
    shutil.copytree(ROOT / "deploy", source / "deploy", symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    for folder in LINKED:
        shutil.copytree(ROOT / folder, source / folder)
    out = tmp_path_factory.mktemp("dist")
    built = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
                 "-w", out, source], cwd=source)
    assert built.returncode == 0, built.stderr
    (found,) = out.glob("mysite_deploy-*-py3-none-any.whl")
    return found


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh virtualenv with the wheel installed. Fabric and invoke come from this environment's site-packages,
    added after the venv's own by a .pth line (its .pth files, an editable install of this checkout among them,
    are not run)."""
    where = tmp_path_factory.mktemp("venv")
    made = run([sys.executable, "-m", "venv", "--without-pip", where], cwd=where)
    assert made.returncode == 0, made.stderr
    python = where / "bin" / "python"
    purelib = run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=where)
    (Path(purelib.stdout.strip()) / "outer.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    installed = run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "-q",
                     wheel], cwd=where)
    assert installed.returncode == 0, installed.stderr
    return where


def toolkit_files() -> set[str]:
    """Every file under deploy/, through the links of deploy/adopt/stack/ too."""
    return {(Path(folder) / name).relative_to(ROOT).as_posix()
            for folder, _, names in os.walk(ROOT / "deploy", followlinks=True) for name in names
            if "__pycache__" not in Path(folder).parts}


def test_the_wheel_holds_every_file_under_deploy(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    packaged = {name for name in names if not name.startswith("mysite_deploy-")}
    assert packaged == toolkit_files()
    # the files the engine reads at run time (deploy/templates/__init__.py, deploy/scripts/__init__.py)
    assert {"deploy/templates/systemd.service", "deploy/templates/supervisor.ini", "deploy/scripts/probe.py",
            "deploy/scripts/sqlite_backup.py", "deploy/fab.py", "deploy/adopt/stack/nginx/entrypoint.sh",
            "deploy/adopt/stack/django/start.sh"} <= packaged  # the links' files, as files


def test_the_wheel_declares_python_and_the_runtime_dependencies(wheel):
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [name for name in archive.namelist() if name.endswith(".dist-info/METADATA")]
        metadata = email.message_from_bytes(archive.read(name))
    assert metadata["Name"] == "mysite-deploy"
    assert metadata["Requires-Python"] == ">=3.11"
    assert set(metadata.get_all("Requires-Dist")) == {"fabric~=3.2", "invoke~=2.2", "paramiko", "bcrypt",
                                                      "packaging"}


def test_the_installed_wheel_loads_its_templates_and_scripts(venv, tmp_path):
    code = ("import deploy, deploy.templates as t, deploy.scripts as s; print(deploy.__file__); "
            "print(*sorted(t.TEMPLATES)); print(*sorted(s.SOURCES)); "
            "print(all(text.strip() for text in (*t.TEMPLATES.values(), *s.SOURCES.values())))")
    done = run([venv / "bin" / "python", "-c", code], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    where, templates, scripts, filled = done.stdout.splitlines()
    assert Path(where).is_relative_to(venv), where  # the installed copy, not this checkout
    assert templates == "supervisor.ini systemd.service"
    assert scripts == "probe serve_socket served_cert sqlite_backup sqlite_restore sqlite_verify"
    assert filled == "True"


def test_the_installed_console_script_adopts_a_startproject(venv, tmp_path):
    root = flat_project(tmp_path)
    done = run([venv / "bin" / "mysite-deploy", "init"], cwd=root)
    assert done.returncode == 0, done.stderr
    assert "Wrote 31 file(s); left 0 alone." in done.stdout
    assert "name: demo" in (root / "fabric.yaml").read_text()  # rendered from the templates the wheel carries
    for folder in LINKED:  # the blog's files, from the wheel's package data (the app's Dockerfile is init's own)
        for path in (root / folder).iterdir():
            if path.name != "Dockerfile" or folder.endswith("nginx"):
                assert path.read_bytes() == (ROOT / folder / path.name).read_bytes(), path


def task_names(listing: str) -> list[str]:
    return [line.split()[0] for line in listing.splitlines() if line.startswith("  ") and line.strip()[0].isalpha()]


def test_a_project_with_a_two_line_fabfile_lists_the_toolkit_s_tasks(venv, tmp_path):
    (tmp_path / "fabfile.py").write_text(TWO_LINE_FABFILE)
    (tmp_path / "fabric.yaml").write_text("deploy:\n  keep_releases: 3\n")
    done = run([venv / "bin" / "python", "-m", "fabric", "--list"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert task_names(done.stdout) == task_names(run([sys.executable, "-m", "fabric", "--list"], cwd=ROOT).stdout)
    assert {"deploy", "rollback", "db.to-postgres", "swarm.deploy"} <= set(task_names(done.stdout))


def test_the_two_line_fabfile_checks_the_project_s_own_fabric_yaml(venv, tmp_path):
    (tmp_path / "fabfile.py").write_text(TWO_LINE_FABFILE)
    (tmp_path / "fabric.yaml").write_text("deploy: [1\n")
    done = run([venv / "bin" / "python", "-m", "fabric", "--list"], cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: fabric.yaml is not valid YAML (expected ',' or ']', but got '<stream end>' at line 2, column 1): "
        "fix it there"]

