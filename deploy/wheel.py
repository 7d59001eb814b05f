"""The toolkit's Django app as a wheel: what an app image installs to have ``deploy.djangoapp`` (INSTALLED_APPS).

Every release's archive carries it at ``deploy-toolkit/`` (releases.archive), made from the toolkit that deploys
it, so the app and the engine that calls its commands (`unsafe_migrations`, `db_copy`) are always the same
version, with no registry and no index. Only ``deploy/__init__.py`` and ``deploy/djangoapp/`` go in, as the
blog's image holds them: the app needs Django only (its ``secret_files`` also django-environ, when a project calls
it). The bytes depend on the files alone (fixed times, sorted entries), so a rebuild finds the image's layer.
"""

import base64
import hashlib
import io
import zipfile
from importlib import metadata
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent  # deploy/
DISTRIBUTION = "mysite-deploy"
WHEEL_NAME = DISTRIBUTION.replace("-", "_")  # the distribution's name in the wheel's file names (PEP 427)
FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the oldest a zip can say
SKIPPED = ("__pycache__",)


def version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "0"


def files(package: Path = PACKAGE) -> list[tuple[str, bytes]]:
    """(path in the wheel, content) of deploy/__init__.py and every file of deploy/djangoapp/, sorted."""
    found = [package / "__init__.py", *(path for path in (package / "djangoapp").rglob("*") if path.is_file())]
    kept = [path for path in found if not set(path.relative_to(package).parts) & set(SKIPPED)
            and path.suffix not in (".pyc", ".pyo")]
    return sorted((f"deploy/{path.relative_to(package).as_posix()}", path.read_bytes()) for path in kept)


def filename(release: str) -> str:
    """The wheel's file name (PEP 427): ``mysite_deploy-0.1.0-py3-none-any.whl``."""
    return f"{WHEEL_NAME}-{release}-py3-none-any.whl"


def record_hash(content: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=").decode()
    return f"sha256={digest},{len(content)}"


def metadata_files(release: str) -> list[tuple[str, bytes]]:
    info = f"{WHEEL_NAME}-{release}.dist-info"
    return [
        (f"{info}/METADATA", (f"Metadata-Version: 2.1\nName: {DISTRIBUTION}\nVersion: {release}\n"
                              "Summary: The deploy toolkit's Django app (deploy.djangoapp), as a deploy ships it "
                              "into an app image\nRequires-Dist: Django>=2.2\n").encode()),
        (f"{info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: mysite-deploy\nRoot-Is-Purelib: true\n"
                          b"Tag: py3-none-any\n"),
    ]


def build(package: Path = PACKAGE, release: str | None = None) -> tuple[str, bytes]:
    """(file name, bytes) of the wheel."""
    release = release or version()
    entries = [*files(package), *metadata_files(release)]
    record_name = f"{WHEEL_NAME}-{release}.dist-info/RECORD"
    record = "".join(f"{name},{record_hash(content)}\n" for name, content in entries) + f"{record_name},,\n"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as wheel:
        for name, content in [*entries, (record_name, record.encode())]:
            info = zipfile.ZipInfo(name, FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            wheel.writestr(info, content)
    return filename(release), out.getvalue()
