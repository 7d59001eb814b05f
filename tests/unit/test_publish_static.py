"""compose/production/django/publish_static.py: this container's collected files into the volume nginx serves."""

import importlib.util
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "compose/production/django/publish_static.py"
spec = importlib.util.spec_from_file_location("publish_static", SCRIPT)
publish_static = importlib.util.module_from_spec(spec)
spec.loader.exec_module(publish_static)


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def collected(root: Path, files: dict[str, bytes]) -> Path:
    for name, body in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(body)
    return root


def test_adds_and_replaces_but_never_deletes_what_the_old_release_serves(tmp_path):
    own = collected(tmp_path / "own", {"css/site.1a2b3c4d5e6f.css": b"new", "css/site.css": b"new",
                                        "staticfiles.json": b"{new}"})
    volume = collected(tmp_path / "volume", {"css/site.0f0f0f0f0f0f.css": b"old", "css/site.css": b"old",
                                             "staticfiles.json": b"{old}"})
    assert publish_static.publish(own, volume) == 3
    assert tree(volume) == {"css/site.0f0f0f0f0f0f.css": b"old", "css/site.1a2b3c4d5e6f.css": b"new",
                            "css/site.css": b"new", "staticfiles.json": b"{new}"}


def test_a_file_already_there_is_left_as_it_is(tmp_path):
    own = collected(tmp_path / "own", {"a.css": b"same", "b.css": b"changed"})
    volume = collected(tmp_path / "volume", {"a.css": b"same", "b.css": b"before"})
    inode = (volume / "a.css").stat().st_ino
    assert publish_static.publish(own, volume) == 1
    assert (volume / "a.css").stat().st_ino == inode  # not rewritten: nginx may be reading it


def test_each_file_is_renamed_into_place_from_a_private_name(tmp_path, monkeypatch):
    own = collected(tmp_path / "own", {"css/a.css": b"a", "css/a.css.gz": b"gz"})
    volume = tmp_path / "volume"
    volume.mkdir()
    renames = []
    real = publish_static.os.replace
    monkeypatch.setattr(publish_static.os, "replace", lambda a, b: (renames.append((Path(a).name, Path(b).name)),
                                                                    real(a, b)))
    publish_static.publish(own, volume)
    pid = publish_static.os.getpid()
    # the file before its .gz: nginx's gzip_static only looks for a .gz beside a file it has
    assert renames == [(f".a.css.{pid}.tmp", "a.css"), (f".a.css.gz.{pid}.tmp", "a.css.gz")]
    assert tree(volume) == {"css/a.css": b"a", "css/a.css.gz": b"gz"}


def test_nothing_is_published_where_no_volume_is_mounted(tmp_path):
    own = collected(tmp_path / "own", {"a.css": b"a"})
    target = tmp_path / "not-a-mount"
    target.mkdir()
    subprocess.run([sys.executable, str(SCRIPT), str(own), str(target)], check=True)
    assert tree(target) == {}


def test_a_mount_point_is_found_in_mountinfo():
    assert publish_static.is_mounted(Path("/proc"))
    assert not publish_static.is_mounted(Path(SCRIPT.parent))
