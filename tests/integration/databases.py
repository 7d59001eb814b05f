"""Helpers for the tests that need a database besides the test database: files, fresh PostgreSQL ones.

Each pass of `inv test` has its own kind of database: connection.vendor is "sqlite" in the first and
"postgresql" in the second (DATABASE_URL, testbed/postgres.py). `manage()` runs manage.py in a
subprocess against any DATABASE_URL, as `fab` runs it on a server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import environ

REPO = Path(__file__).resolve().parents[2]


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"


def manage(database_url: str, *args: str, check: bool = True, stdin: str = "") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "MYSITE_"))}
    env.update(DJANGO_SETTINGS_MODULE="mysite.settings.test", DATABASE_URL=database_url)
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300, input=stdin)
    if check:
        assert done.returncode == 0, f"manage.py {' '.join(args)}: exit {done.returncode}\n{done.stdout}{done.stderr}"
    return done


def run_in(database_url: str, code: str) -> object:
    """Run Python ``code`` with Django set up on ``database_url``; it prints one JSON value, returned here."""
    done = manage(database_url, "shell", "--no-imports", "-c", code)
    return json.loads(done.stdout.strip().splitlines()[-1])


def postgres_admin_url() -> str:
    """The pass's own server and role (DATABASE_URL): the role may create databases."""
    return os.environ["DATABASE_URL"]


def create_postgres_database() -> str:
    """A fresh, empty database on the pass's server; its URL. Named like the test database (one per process),
    so testbed/postgres.py drops it if this run is killed before drop_postgres_database()."""
    import psycopg

    admin = postgres_admin_url()
    config = environ.Env.db_url_config(admin)
    name = f"test_{config['NAME']}_{os.getpid()}_copy_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0")  # as the test database
    return admin.rsplit("/", 1)[0] + "/" + name


def drop_postgres_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(postgres_admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# The same rows, whichever database runs it: fixed times in another time zone, microseconds, a gap in
# the ids, booleans, NULLs, many-to-many rows of every kind the fingerprint counts.
POPULATE = r'''
import json
from datetime import datetime, timedelta, timezone
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from blog.models import Category, Comment, Post, Tag

ist = timezone(timedelta(hours=5, minutes=30))
when = datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=ist)
alice = User.objects.create_user("alice", "alice@example.com", "pw", is_staff=True, first_name="Älice")
bob = User.objects.create_user("bob", "bob@example.com", "pw", is_active=False)
# the same rows in every database this runs in: a fixed salt and join time (the fingerprint checksums users)
User.objects.update(password=make_password("pw", salt="populatedsalt"), date_joined=when)
editors = Group.objects.create(name="editors")
editors.permissions.add(Permission.objects.get(codename="change_post"))
alice.groups.add(editors)
bob.user_permissions.add(Permission.objects.get(codename="add_comment"))
categories = [Category.objects.create(name=n) for n in ("Django", "deployment", "Notes")]
tags = [Tag.objects.create(name=n) for n in ("docker", "SQLite", "ünïcode", "nginx")]
for i in range(6):
    post = Post.objects.create(
        title=f"Post {i}: «quoted» 'single' \"double\"", body=f"## Part {i}\n\nText with `code` and émoji 🎉.\n",
        excerpt="" if i % 2 else "An excerpt", created_time=when + timedelta(days=i, microseconds=i),
        category=categories[i % 3], author=alice if i % 2 else bob)
    post.tags.set(tags[: i % 4 + 1])
    Post.objects.filter(pk=post.pk).update(views=i * 7, modified_time=when + timedelta(hours=i))
    for j in range(i % 3):
        Comment.objects.create(post=post, name=f"Reader {j}", email=f"r{j}@example.com",
                               url="" if j else "https://example.com/ü", text=f"Comment {j}\r\nsecond line",
                               created_time=when + timedelta(days=i, seconds=j, microseconds=999999 - j))
Post.objects.filter(title__startswith="Post 3").delete()  # a gap in the ids
LogEntry.objects.create(user=alice, content_type=ContentType.objects.get_for_model(Post), object_id="1",
                        object_repr="Post 0", action_flag=ADDITION, change_message="[]", action_time=when)
print(json.dumps(Post.objects.count()))
'''

# What a copy must keep: ids, relations by id, and every kind of row; printed as one JSON value.
CONTENT = r'''
import json
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group, User
from blog.models import Comment, Post
print(json.dumps({
    "posts": [[p.pk, p.title, p.author.username, p.category.name, sorted(t.name for t in p.tags.all()),
               p.created_time.isoformat(), p.modified_time.isoformat(), p.views] for p in Post.objects.order_by("pk")],
    "comments": [[c.pk, c.post_id, c.text, c.created_time.isoformat()] for c in Comment.objects.order_by("pk")],
    "users": [[u.pk, u.username, u.is_staff, u.is_active, u.first_name, sorted(g.name for g in u.groups.all()),
               sorted(p.codename for p in u.user_permissions.all()), u.check_password("pw")]
              for u in User.objects.order_by("pk")],
    "groups": [[g.name, sorted(p.codename for p in g.permissions.all())] for g in Group.objects.all()],
    "log": [[e.user.username, e.content_type.model, e.object_repr] for e in LogEntry.objects.all()],
}))
'''

# One new row in each table with a sequence: the ids must follow the copied ones.
NEW_ROWS = r'''
import json
from django.contrib.auth.models import Group, User
from blog.models import Category, Comment, Post, Tag
category = Category.objects.create(name="New category")
tag = Tag.objects.create(name="new-tag")
user = User.objects.create_user("carol")
post = Post.objects.create(title="After the copy", body="x", category=category, author=user)
post.tags.add(tag)
comment = Comment.objects.create(post=post, name="n", email="n@example.com", text="t")
group = Group.objects.create(name="new group")
print(json.dumps({"post": post.pk, "comment": comment.pk, "category": category.pk, "tag": tag.pk,
                  "user": user.pk, "group": group.pk}))
'''
