"""deploy/adopt/deploy_check.py's report section, and check_probe.py's reading of the modules init has not written
(the real checks on startproject projects: tests/integration/deploy/test_init_check_deploy.py)."""

import subprocess
import sys

from deploy.adopt import check_probe, deploy_check
from deploy.commands.django_check import Issue

W004 = Issue("security.W004", "WARNINGS", "You have not set a value for the SECURE_HSTS_SECONDS setting.")
MINE = Issue("shop.W001", "WARNINGS", "The shop has no currency.")
INFO = Issue("shop.I001", "INFOS", "Just so you know.")


def test_no_warnings_is_one_line():
    assert deploy_check.lines([INFO], "shop.deploy_settings") == [
        "check --deploy under shop.deploy_settings (a stand-in secret key, DJANGO_HTTPS unset): no warnings"]


def test_a_warning_a_line_and_the_https_note_only_for_the_https_ones():
    head = "check --deploy under demo.deploy_settings (a stand-in secret key, DJANGO_HTTPS unset): "
    assert deploy_check.lines([MINE, INFO], "demo.deploy_settings") == [
        f"{head}1 warning", "  ! shop.W001: The shop has no currency."]
    assert deploy_check.lines([W004, MINE], "demo.deploy_settings") == [
        f"{head}2 warnings", "  ! security.W004: You have not set a value for the SECURE_HSTS_SECONDS setting.",
        "  ! shop.W001: The shop has no currency.",
        "  (the HTTPS ones go once the site serves HTTPS, `fab https`, with DJANGO_HTTPS=true in .envs/.production)"]


def test_the_probe_reads_an_unwritten_module_from_its_folder_and_every_other_from_the_project(tmp_path):
    (tmp_path / "later" / "demo").mkdir(parents=True)
    (tmp_path / "later" / "demo" / "deploy_settings.py").write_text("WHERE = 'later'\n")
    (tmp_path / "project" / "demo").mkdir(parents=True)
    (tmp_path / "project" / "demo" / "__init__.py").write_text("")
    (tmp_path / "project" / "demo" / "settings.py").write_text("WHERE = 'project'\n")
    script = (f"import sys, runpy; sys.argv = ['probe', {str(tmp_path / 'later')!r}]; "
              f"probe = runpy.run_path({str(check_probe.__file__)!r}); "
              "sys.meta_path.insert(0, probe['Unwritten'](sys.argv[1])); "
              "import demo.deploy_settings, demo.settings; print(demo.deploy_settings.WHERE, demo.settings.WHERE)")
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path / "project", capture_output=True, text=True,
                          check=False)
    assert done.stdout == "later project\n", done.stderr
