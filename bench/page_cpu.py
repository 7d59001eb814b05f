"""In-process CPU cost per page: ms of process CPU per GET of the index and of a post.

Production-like: DEBUG=False, file SQLite with the production options, the database cache table,
`seed_demo --posts 100`. Prints numbers only (no thresholds). Usage:

    .venv/bin/python -m bench.page_cpu [--n 500] [--posts 100]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="GETs per page (default 500)")
    parser.add_argument("--posts", type=int, default=100, help="seed_demo --posts (default 100)")
    args = parser.parse_args(argv)

    os.environ["DJANGO_SETTINGS_MODULE"] = "mysite.settings.test"
    tmp = tempfile.mkdtemp(prefix="page_cpu-")
    import django
    from django.conf import settings

    settings.DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(Path(tmp) / "db.sqlite3"),
            "OPTIONS": dict(settings.SQLITE_OPTIONS),
            "CONN_MAX_AGE": 600,
            "CONN_HEALTH_CHECKS": True,
        }
    }
    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    call_command("migrate", verbosity=0)
    os.environ.setdefault("DJANGO_SUPERUSER_PASSWORD", "page-cpu-bench")
    with open(os.devnull, "w") as devnull:
        call_command("seed_demo", posts=args.posts, stdout=devnull, stderr=devnull)

    from blog.models import Post

    post = Post.objects.exclude(toc_html="").filter(body_html__contains="highlight").order_by("-created_time")[5]
    client = Client()
    pages = {"index": "/", "post": post.get_absolute_url()}
    print(f"{args.posts} posts, {args.n} GETs per page, post {pages['post']} (code + TOC)")
    for name, url in pages.items():
        for _ in range(20):  # warm: caches, template loader, connection
            assert client.get(url).status_code == 200
        queries = []
        with connection.execute_wrapper(lambda execute, sql, *a, q=queries: q.append(sql) or execute(sql, *a)):
            client.get(url)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for _ in range(args.n):
            client.get(url)
        cpu = (time.process_time() - cpu0) / args.n * 1000
        wall = (time.perf_counter() - wall0) / args.n * 1000
        print(f"{name:6s} {cpu:6.2f} ms CPU/request  {wall:6.2f} ms wall  {len(queries)} queries")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
