"""Settings read from files: ``NAME_FILE`` names a file whose text is NAME's value (Docker secrets).

A project's settings call it once and read every value through it:

    from deploy.djangoapp import secret_files
    env = secret_files.environment()
    SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")   # or the file DJANGO_SECRET_KEY_FILE names

Needs no Django settings (the settings themselves import it).
"""

import os

import environ
from django.core.exceptions import ImproperlyConfigured


class EnvOrFiles(environ.FileAwareMapping):
    """django-environ's FileAwareMapping: NAME_FILE, when set and not empty, names a file whose text is
    NAME's value, and then wins over NAME itself (Docker secrets: /run/secrets/<name>). Two additions:
    a file that cannot be read stops the start with a line naming the variable and the path (not a bare
    FileNotFoundError), and the line end that `echo ... | docker secret create` leaves is not part of
    the value (a DATABASE_URL ending in a newline names a database that does not exist)."""

    def __getitem__(self, key):
        path = self.env.get(key + "_FILE")
        if not path:
            return self.env[key]
        try:
            value = super().__getitem__(key)
        except (OSError, UnicodeDecodeError) as error:
            reason = "not UTF-8 text" if isinstance(error, UnicodeDecodeError) else error.strerror or str(error)
            raise ImproperlyConfigured(
                f"{key}_FILE={path} cannot be read ({reason}): mount the secret there, or unset {key}_FILE "
                f"to read {key} itself"
            ) from error
        return value.rstrip("\r\n")


def environment() -> environ.Env:
    """A django-environ ``Env`` whose every value may come from the file ``NAME_FILE`` names.

    Each has its own mapping: a file's text is kept once read (FileAwareMapping's cache), by that one only.
    """
    env = environ.FileAwareEnv()
    env.ENVIRON = EnvOrFiles()
    return env


def env_source(name: str) -> str:
    """Where NAME's value comes from, for a message: NAME, or NAME read from the file NAME_FILE names."""
    path = os.environ.get(name + "_FILE")
    return f"{name} (read from {name}_FILE={path})" if path else name
