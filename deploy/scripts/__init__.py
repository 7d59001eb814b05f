"""Programs run on the server inside containers as ``python -c <text>``: no upload, no file on the server."""

import functools
from importlib import resources


@functools.cache
def source(name: str) -> str:
    """The text of ``deploy/scripts/<name>.py``, to ship as ``python -c {quote(source(name))} args``."""
    return resources.files(__package__).joinpath(f"{name}.py").read_text(encoding="utf-8")
