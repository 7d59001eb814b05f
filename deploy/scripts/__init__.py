"""Programs run on the server inside containers as ``python -c <text>``: no upload, no file on the server.

Their texts are read once, when this package is imported, so the builders that ship them do no I/O.
"""

from importlib import resources

SOURCES = {path.name.removesuffix(".py"): path.read_text(encoding="utf-8")
           for path in resources.files(__package__).iterdir() if path.name.endswith(".py")
           and path.name != "__init__.py"}


def source(name: str) -> str:
    """The text of ``deploy/scripts/<name>.py``, to ship as ``python -c {quote(source(name))} args``."""
    return SOURCES[name]
