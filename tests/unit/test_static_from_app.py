"""The app image serves its own static files on a cluster: WhiteNoise is in the image, collected before gunicorn."""

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DJANGO = ROOT / "compose/production/django"


def test_the_image_installs_whitenoise_from_the_lock():
    spec = importlib.util.spec_from_file_location("lock2req", DJANGO / "lock2req.py")
    lock2req = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lock2req)
    lock = json.loads((ROOT / "Pipfile.lock").read_text())
    lines = [line for line in lock2req.requirements(lock).splitlines() if line.startswith("whitenoise")]
    assert len(lines) == 1
    assert lines[0].startswith(f"whitenoise{lock['default']['whitenoise']['version']}")
    assert lines[0].count("--hash=sha256:") == len(lock["default"]["whitenoise"]["hashes"]) >= 1


def test_start_collects_and_compresses_before_gunicorn():
    lines = [line.strip() for line in (DJANGO / "start.sh").read_text().splitlines()
             if line.strip() and not line.strip().startswith("#")]
    collect = lines.index("python manage.py collectstatic --noinput --verbosity 0")
    compress = lines.index("python /app/compose/production/django/gzip_static.py /app/staticfiles")
    publish = lines.index("python /app/compose/production/django/publish_static.py /app/staticfiles /srv/static")
    serve = next(i for i, line in enumerate(lines) if line.startswith("exec gunicorn "))
    assert collect < compress < publish < serve
