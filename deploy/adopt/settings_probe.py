"""Run by `fab init` as a script of the project's own Python, in the project's folder, with
DJANGO_SETTINGS_MODULE set: imports the settings and prints what a deploy needs of them as one JSON object.

Standalone on purpose (nothing of the toolkit imported): it runs with the project's Django, before any of
our files are in the project. ``{"django": null}``: Django does not import; ``"error"``: the last line of
the settings' import error.
"""

import json
import os
import sys
import traceback

# a script's folder is sys.path[0], not the project's: put the project first, as manage.py has it
sys.path.insert(0, os.getcwd())

SIMPLE = ("WSGI_APPLICATION", "ROOT_URLCONF", "STATIC_URL", "STATIC_ROOT", "MEDIA_URL", "MEDIA_ROOT")


def _text(value):
    return None if value is None else str(value)


def _engines(mapping, key):
    """The ``key`` of each entry of a settings dict (CACHES' BACKEND, HAYSTACK_CONNECTIONS' ENGINE, ...)."""
    if not isinstance(mapping, dict):
        return []
    return sorted({str(entry.get(key)) for entry in mapping.values() if isinstance(entry, dict) and entry.get(key)})


def facts():
    try:
        import django
    except ImportError:
        return {"django": None}
    found = {"django": django.get_version(), "django_version": list(django.VERSION[:2])}
    if tuple(django.VERSION[:2]) < (2, 2):  # refused by the caller (OLDEST_DJANGO): its settings are not read
        return found
    try:
        from django.conf import settings

        settings.INSTALLED_APPS  # noqa: B018 - the first access imports the settings module
    except Exception:  # noqa: BLE001 - whatever the user's settings raise is reported, in one line
        lines = [line for line in traceback.format_exc().splitlines() if line.strip()]
        found["error"] = lines[-1].strip() if lines else "unknown error"
        return found
    found.update({name: _text(getattr(settings, name, None)) for name in SIMPLE})
    databases = getattr(settings, "DATABASES", {}) or {}
    found["DATABASE_ENGINE"] = _text(databases.get("default", {}).get("ENGINE"))
    found["INSTALLED_APPS"] = [str(app) for app in settings.INSTALLED_APPS]
    found["CACHE_BACKENDS"] = _engines(getattr(settings, "CACHES", {}), "BACKEND")
    found["CHANNEL_LAYER_BACKENDS"] = _engines(getattr(settings, "CHANNEL_LAYERS", {}), "BACKEND")
    found["HAYSTACK_ENGINES"] = _engines(getattr(settings, "HAYSTACK_CONNECTIONS", {}), "ENGINE")
    found["SETTING_NAMES"] = sorted(name for name in dir(settings._wrapped) if name.isupper())
    return found


if __name__ == "__main__":
    print(json.dumps(facts()))
