"""deploy/wheel.py: the toolkit's Django app as a wheel that pip installs with no index, the same bytes every time."""

import subprocess
import sys
import zipfile
from io import BytesIO
from pathlib import Path

from deploy import wheel

ROOT = Path(__file__).resolve().parents[3]


def test_the_name_and_the_metadata():
    assert wheel.filename("0.1.0") == "mysite_deploy-0.1.0-py3-none-any.whl"
    assert wheel.metadata_files("0.1.0") == [
        ("mysite_deploy-0.1.0.dist-info/METADATA",
         b"Metadata-Version: 2.1\nName: mysite-deploy\nVersion: 0.1.0\nSummary: The deploy toolkit's Django app "
         b"(deploy.djangoapp), as a deploy ships it into an app image\nRequires-Dist: Django>=2.2\n"),
        ("mysite_deploy-0.1.0.dist-info/WHEEL",
         b"Wheel-Version: 1.0\nGenerator: mysite-deploy\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
    ]
    assert wheel.record_hash(b"") == "sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0"


def test_only_the_django_app_goes_in(tmp_path):
    package = tmp_path / "deploy"
    for name in ("__init__.py", "fab.py", "djangoapp/__init__.py", "djangoapp/urls.py",
                 "djangoapp/__pycache__/urls.cpython-311.pyc", "djangoapp/templates/deploy_tools/read_only.html"):
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(name)
    assert [name for name, _ in wheel.files(package)] == [
        "deploy/__init__.py", "deploy/djangoapp/__init__.py", "deploy/djangoapp/templates/deploy_tools/read_only.html",
        "deploy/djangoapp/urls.py"]


def test_the_same_files_make_the_same_bytes_with_a_record_of_every_file(tmp_path):
    name, content = wheel.build(release="0.1.0")
    assert (name, content) == wheel.build(release="0.1.0")
    with zipfile.ZipFile(BytesIO(content)) as archive:
        names = archive.namelist()
        record = archive.read("mysite_deploy-0.1.0.dist-info/RECORD").decode()
    assert "deploy/djangoapp/apps.py" in names and "deploy/fab.py" not in names
    assert sorted(line.split(",")[0] for line in record.splitlines()) == sorted(names)


def test_pip_installs_it_without_an_index(tmp_path):
    name, content = wheel.build(release="0.1.0")
    (tmp_path / name).write_bytes(content)
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet",
                           "--disable-pip-version-check", "--target", str(tmp_path / "site"), str(tmp_path / name)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    installed = tmp_path / "site" / "deploy" / "djangoapp" / "keycheck.py"
    assert installed.read_bytes() == (ROOT / "deploy" / "djangoapp" / "keycheck.py").read_bytes()
    assert (tmp_path / "site" / "mysite_deploy-0.1.0.dist-info" / "METADATA").is_file()
