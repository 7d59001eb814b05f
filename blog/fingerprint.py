"""A database's fingerprint: row counts per table, and checksums of the posts and of the comments.

The same rows give the same fingerprint on SQLite and on PostgreSQL: each value is written in one
text form whatever the backend returned (datetimes as UTC ISO 8601 with microseconds, booleans as
true/false, NULL as null), one JSON line per row, in primary-key order. `manage.py db_fingerprint`
prints it; `manage.py db_copy` compares the source's and the copy's.

Counted: every model of blog (their many-to-many tables too), auth's User and Group with their
many-to-many tables (groups, permissions), and admin's LogEntry. Not counted: what `migrate` creates
by itself (content types, permissions), sessions, the cache table.
Checksummed: every column of blog_post (and each post's tag ids), every column of blog_comment.
"""

from __future__ import annotations

import datetime
import decimal
import hashlib
import json
import uuid

from django.apps import apps
from django.db import models

COUNTED_APPS = {"blog": None, "auth": {"user", "group"}, "admin": {"logentry"}}  # None: every model
CHECKSUMS = {"posts_sha256": ("blog", "post"), "comments_sha256": ("blog", "comment")}
CHUNK = 2000


def counted_models() -> list[type[models.Model]]:
    """The models counted, with the many-to-many tables of those that have them."""
    found = []
    for label, names in COUNTED_APPS.items():
        for model in apps.get_app_config(label).get_models():
            if names is None or model._meta.model_name in names:
                found.append(model)
                found += [f.remote_field.through for f in model._meta.local_many_to_many]
    return found


def fingerprint(using: str = "default") -> dict:
    counts = {model._meta.db_table: model._base_manager.using(using).count() for model in counted_models()}
    result: dict = {"counts": dict(sorted(counts.items()))}
    for key, (app_label, model_name) in CHECKSUMS.items():
        result[key] = checksum(apps.get_model(app_label, model_name), using)
    return result


def render(result: dict) -> str:
    """One line of JSON, keys sorted: equal fingerprints are equal strings."""
    return json.dumps(result, sort_keys=True)


def checksum(model: type[models.Model], using: str = "default") -> str:
    """sha256 of the column names, then every row (all its columns), then its many-to-many pairs."""
    digest = hashlib.sha256()
    columns = [field.attname for field in model._meta.concrete_fields]
    digest.update(_line(columns))
    for row in model._base_manager.using(using).order_by("pk").values_list(*columns).iterator(chunk_size=CHUNK):
        digest.update(_line(row))
    for field in model._meta.many_to_many:
        through = field.remote_field.through
        ours, theirs = field.m2m_field_name(), field.m2m_reverse_field_name()
        digest.update(_line([field.name]))
        pairs = through._base_manager.using(using).order_by(ours, theirs).values_list(f"{ours}_id", f"{theirs}_id")
        for pair in pairs.iterator(chunk_size=CHUNK):
            digest.update(_line(pair))
    return digest.hexdigest()


def _line(values) -> bytes:
    return (json.dumps([text_form(v) for v in values], ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def text_form(value):
    """The backend-independent form of one stored value (JSON-able)."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.UTC)
        return value.isoformat(timespec="microseconds")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, decimal.Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | memoryview | bytearray):
        return bytes(value).hex()
    return str(value)


def first_difference(source: dict, target: dict) -> str | None:
    """The first table whose count or checksum differs, said in words; None when they are equal."""
    source_counts, target_counts = source.get("counts", {}), target.get("counts", {})
    for table in sorted(set(source_counts) | set(target_counts)):
        here, there = source_counts.get(table), target_counts.get(table)
        if here != there:
            return f"{table} (rows: {here} in the source, {there} in the copy)"
    for key, (app_label, model_name) in CHECKSUMS.items():
        if source.get(key) != target.get(key):
            table = apps.get_model(app_label, model_name)._meta.db_table
            return f"{table} (same row count, different content: {key} differs)"
    return None
