"""Run by `fab init` as a script of the project's own Python, in the project's folder, with DJANGO_SETTINGS_MODULE
naming the production overlay: `manage.py check --deploy`, where a module init writes (written yet or not) is read
from the folder given as the only argument (``<folder>/demo/deploy_settings.py`` is ``demo.deploy_settings``).

Standalone on purpose, as settings_probe.py: nothing is written into the project before the checks pass.
"""

import importlib.abc
import importlib.util
import os
import sys

# the project's folder in place of this script's (whose modules would shadow the project's), as manage.py has it
sys.path[0] = os.getcwd()


class Unwritten(importlib.abc.MetaPathFinder):
    """Finds init's modules in ``folder``, before the project's own path is searched."""

    def __init__(self, folder):
        self.folder = folder

    def find_spec(self, name, path=None, target=None):
        file = os.path.join(self.folder, *name.split(".")) + ".py"
        return importlib.util.spec_from_file_location(name, file) if os.path.isfile(file) else None


if __name__ == "__main__":
    sys.meta_path.insert(0, Unwritten(sys.argv.pop(1)))
    from django.core.management import execute_from_command_line

    execute_from_command_line(["manage.py", "check", "--deploy", "--no-color"])
