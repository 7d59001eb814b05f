"""A database's fingerprint: row counts per table, and a checksum of every table db_copy copies.

The same rows give the same fingerprint on SQLite and on PostgreSQL: each value is written in one
text form whatever the backend returned (datetimes as UTC ISO 8601 with microseconds, booleans as
true/false, NULL as null), one JSON line per row, in primary-key order. `manage.py db_fingerprint`
prints it; `manage.py db_copy` compares the source's and the copy's.

Copied, so counted and checksummed: every model of every installed app, read from the app registry,
never listed by name (what dumpdata dumps: the project's own, users, groups, the admin log, sessions)
but what `migrate` creates by itself (content types, permissions; a cache table is no model). Each
table's checksum covers every column, and its many-to-many pairs (the pairs' own ids are not kept by a
copy); a reference to a content type or a permission is written by its natural key, since `migrate`
numbers those anew in the target. A password changed in one database (its hash in auth_user) makes the
fingerprints differ.
"""

from __future__ import annotations

import datetime
import decimal
import hashlib
import json
import uuid

from django.apps import apps
from django.db import models

EXCLUDED = ("contenttypes", "auth.permission")  # `migrate` makes them in the target; matched by natural keys
CHUNK = 2000


def copied_models() -> list[type[models.Model]]:
    """Every model db_copy copies: what dumpdata dumps (concrete, managed), less ``EXCLUDED``."""
    found = [model for model in apps.get_models()
             if not model._meta.proxy and model._meta.managed
             and model._meta.app_label not in EXCLUDED and model._meta.label_lower not in EXCLUDED]
    return sorted(found, key=lambda model: model._meta.db_table)


def counted_models() -> list[type[models.Model]]:
    """The models counted: the copied ones, with the many-to-many tables of those that have them."""
    found = []
    for model in copied_models():
        found.append(model)
        found += [f.remote_field.through for f in model._meta.local_many_to_many]
    return found


def fingerprint(using: str = "default") -> dict:
    counts = {model._meta.db_table: model._base_manager.using(using).count() for model in counted_models()}
    natural = natural_keys(using)
    sums = {model._meta.db_table: checksum(model, using, natural) for model in copied_models()}
    return {"counts": dict(sorted(counts.items())), "sha256": dict(sorted(sums.items()))}


def natural_keys(using: str = "default") -> dict[type[models.Model], dict]:
    """id -> natural key of the content types and permissions: `migrate` numbers them anew in each database."""
    content_type, permission = apps.get_model("contenttypes", "ContentType"), apps.get_model("auth", "Permission")
    types = {pk: f"{app}.{name}" for pk, app, name in
             content_type._base_manager.using(using).values_list("pk", "app_label", "model")}
    permissions = {pk: f"{types.get(kind, kind)}.{codename}" for pk, codename, kind in
                   permission._base_manager.using(using).values_list("pk", "codename", "content_type_id")}
    return {content_type: types, permission: permissions}


def render(result: dict) -> str:
    """One line of JSON, keys sorted: equal fingerprints are equal strings."""
    return json.dumps(result, sort_keys=True)


def checksum(model: type[models.Model], using: str = "default", natural: dict | None = None) -> str:
    """sha256 of the column names, then every row (all its columns), then its many-to-many pairs (sorted)."""
    natural = natural_keys(using) if natural is None else natural
    digest = hashlib.sha256()
    fields = model._meta.concrete_fields
    digest.update(_line([field.attname for field in fields]))
    renamed = {index: natural[field.related_model] for index, field in enumerate(fields)
               if field.is_relation and field.related_model in natural}
    rows = model._base_manager.using(using).order_by("pk").values_list(*[field.attname for field in fields])
    for row in rows.iterator(chunk_size=CHUNK):
        digest.update(_line([renamed[i].get(v, v) if i in renamed else v for i, v in enumerate(row)]))
    for field in model._meta.many_to_many:
        through = field.remote_field.through
        ours, theirs = field.m2m_field_name(), field.m2m_reverse_field_name()
        keys = natural.get(field.related_model, {})
        digest.update(_line([field.name]))
        pairs = through._base_manager.using(using).values_list(f"{ours}_id", f"{theirs}_id")
        lines = sorted(_line([mine, keys.get(other, other)]) for mine, other in pairs.iterator(chunk_size=CHUNK))
        for line in lines:  # sorted as text: the ids of permissions differ between databases, their keys do not
            digest.update(line)
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
    source_sums, target_sums = source.get("sha256", {}), target.get("sha256", {})
    for table in sorted(set(source_sums) | set(target_sums)):
        if source_sums.get(table) != target_sums.get(table):
            return f"{table} (same row count, different content: its sha256 differs)"
    return None
