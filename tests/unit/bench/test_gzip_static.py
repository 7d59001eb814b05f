"""compose/production/django/gzip_static.py: the .gz files nginx's gzip_static serves (a serving tuning)."""

import gzip
import os
import runpy

from bench.stack import ROOT

compress = runpy.run_path(str(ROOT / "compose/production/django/gzip_static.py"))["compress"]


def test_text_files_get_a_gz_once_and_again_when_they_change(tmp_path):
    css = tmp_path / "blog/css/site.abcdef123456.css"
    css.parent.mkdir(parents=True)
    css.write_text("body { color: red; }\n" * 50)
    (tmp_path / "logo.png").write_bytes(b"\x89PNG")
    assert compress(tmp_path) == 1
    assert gzip.decompress((tmp_path / "blog/css/site.abcdef123456.css.gz").read_bytes()) == css.read_bytes()
    assert not (tmp_path / "logo.png.gz").exists()
    assert compress(tmp_path) == 0  # a second release finds it done
    css.write_text("body { color: blue; }\n")
    os.utime(css, (css.stat().st_mtime + 10, css.stat().st_mtime + 10))
    assert compress(tmp_path) == 1
    assert gzip.decompress((tmp_path / "blog/css/site.abcdef123456.css.gz").read_bytes()) == b"body { color: blue; }\n"
    assert not list(tmp_path.rglob("*.tmp"))
