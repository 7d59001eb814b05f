"""compose/production/django/start.sh hands gunicorn the app's WSGI application: fabric.yaml's `app: wsgi`
(MYSITE_APP_WSGI), the blog's when unset. Its last line is run by sh with a stand-in gunicorn."""

import os
import subprocess
from pathlib import Path

import pytest

START = Path(__file__).resolve().parents[2] / "compose/production/django/start.sh"


def served(tmp_path, **environ) -> str:
    """What gunicorn is told to serve: its last argument."""
    stand_in = tmp_path / "gunicorn"
    stand_in.write_text('#!/bin/sh\nfor last; do :; done\necho "$last"\n')
    stand_in.chmod(0o755)
    exec_line = [line for line in START.read_text().splitlines() if line.startswith("exec gunicorn ")]
    assert len(exec_line) == 1
    done = subprocess.run(["sh", "-euc", exec_line[0]], capture_output=True, text=True, timeout=10,
                          env={"PATH": f"{tmp_path}:{os.environ['PATH']}", **environ})
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize(("environ", "wsgi"), [({}, "mysite.wsgi:application"), ({"MYSITE_APP_WSGI": ""},
                                               "mysite.wsgi:application"),
                                              ({"MYSITE_APP_WSGI": "shop.web:app"}, "shop.web:app")])
def test_gunicorn_serves_the_apps_wsgi_application(tmp_path, environ, wsgi):
    assert served(tmp_path, **environ) == wsgi
