"""The unit files of `fab systemd` and `fab supervisor`, read once when this package is imported.

Builders fill them in (deploy/commands/services.py); reading them here keeps the builders free of I/O.
"""

from importlib import resources

TEMPLATES = {name: resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
             for name in ("systemd.service", "supervisor.ini")}
