"""deploy/adopt/settings_probe.py, run as `fab init` runs it: a script of this Python, in the project's folder."""

import json
import subprocess
import sys

from deploy.adopt.django_settings import PROBE
from testbed.adopt_projects import startproject, write


def probe(root, module):
    done = subprocess.run([sys.executable, str(PROBE)], cwd=root, capture_output=True, text=True, timeout=60,
                          check=False, env={"DJANGO_SETTINGS_MODULE": module, "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_it_reads_a_startproject_s_settings_from_the_project_s_folder(tmp_path):
    import django

    facts = probe(startproject(tmp_path), "demo.settings")
    assert facts["django"] == django.get_version()
    assert facts["django_version"] == list(django.VERSION[:2])
    assert facts["WSGI_APPLICATION"] == "demo.wsgi.application"
    assert facts["ROOT_URLCONF"] == "demo.urls"
    assert facts["DATABASE_ENGINE"] == "django.db.backends.sqlite3"
    assert facts["STATIC_URL"] == "/static/" and facts["STATIC_ROOT"] is None
    assert "django.contrib.admin" in facts["INSTALLED_APPS"]
    assert facts["CACHE_BACKENDS"] == ["django.core.cache.backends.locmem.LocMemCache"]
    assert "SECRET_KEY" in facts["SETTING_NAMES"] and "error" not in facts


def test_it_names_the_backends_of_caches_channel_layers_and_search(tmp_path):
    write(tmp_path, {"site_settings.py": (
        "SECRET_KEY = 'x'\nINSTALLED_APPS = ['channels']\nMEDIA_ROOT = __import__('pathlib').Path('/srv/m')\n"
        "print('settings may print')\n"
        "CACHES = {'default': {'BACKEND': 'django_redis.cache.RedisCache'}, 'b': {'BACKEND': 'x.Y'}}\n"
        "CHANNEL_LAYERS = {'default': {'BACKEND': 'channels_redis.core.RedisChannelLayer'}}\n"
        "HAYSTACK_CONNECTIONS = {'default': {'ENGINE': 'haystack.backends.elasticsearch7_backend.E'}}\n")})
    facts = probe(tmp_path, "site_settings")
    assert facts["CACHE_BACKENDS"] == ["django_redis.cache.RedisCache", "x.Y"]
    assert facts["CHANNEL_LAYER_BACKENDS"] == ["channels_redis.core.RedisChannelLayer"]
    assert facts["HAYSTACK_ENGINES"] == ["haystack.backends.elasticsearch7_backend.E"]
    assert facts["MEDIA_ROOT"] == "/srv/m"


def test_settings_that_do_not_import_give_their_error_s_last_line(tmp_path):
    write(tmp_path, {"broken.py": "import os\nSECRET_KEY = os.environ['DJANGO_SECRET_KEY']\n"})
    facts = probe(tmp_path, "broken")
    assert facts["error"] == "KeyError: 'DJANGO_SECRET_KEY'"
    assert "INSTALLED_APPS" not in facts
