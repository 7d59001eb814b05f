"""The migration gate: which migrations of a release break the release still serving during its deploy.

A zero-downtime deploy migrates first, then switches: for a while the OLD code runs on the NEW
schema. A migration is unsafe when that old code would then fail: it reads a column or table that is
gone or renamed, or inserts rows that the new schema refuses. `manage.py unsafe_migrations` runs this
on the migrations not yet applied where the release will run, from the migration files alone (no
database): each operation is judged with the project state before it, the way Django itself applies it.

Unsafe (for a table or column the old code knows, i.e. not created by this same release):
- DeleteModel, RenameModel, AlterModelTable (a new table name), AlterOrderWithRespectTo (adds or drops `_order`);
- RemoveField; RenameField and AlterField that change the column's name;
- AddField of a NOT NULL column without a database default (`db_default`): Django's `default=` fills
  the existing rows and is then dropped from the table, so the old code's INSERTs fail;
- AlterField that makes a column NOT NULL where the old field has no default (the old code writes NULL),
  that narrows it (a shorter max_length, fewer digits) or changes its type (other than widening:
  CharField to TextField, smaller to bigger integers; the database type, `db_parameters()`, on SQLite and
  on PostgreSQL), or drops the database default of a NOT NULL column;
- AlterField that re-points a foreign key (another model, or another `to_field`), or that changes a
  many-to-many field's table (`db_table`: Django copies the rows to the new table and drops the old) or
  its target;
- new uniqueness or checks on a table with rows: AlterField to `unique=True`, AddConstraint (unique,
  check or any other), AlterUniqueTogether with a new set. The gate cannot see the rows, nor what the
  old code writes, so these are refused until a migration reviewed by hand says so (below);
- RunSQL and operations this module does not know: they cannot be checked.
Safe: CreateModel, AddField of a nullable column or with db_default, many-to-many fields added,
RunPython, indexes, constraints removed, options and managers, SeparateDatabaseAndState's state half;
an AlterField that changes nothing in the database (help_text, verbose_name, on_delete, related_name);
anything on a model or field created by a migration of the same release.
Not checked: how long a migration locks a big table.

A migration reviewed by hand can say so, and is then skipped:
    class Migration(migrations.Migration):
        zero_downtime_safe = "the old code never reads Post.legacy (removed from the model in release X)"
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from django.apps import apps
from django.db import migrations
from django.db.migrations.loader import MigrationLoader
from django.db.models import NOT_PROVIDED, CheckConstraint, UniqueConstraint
from django.db.utils import ConnectionHandler

REVIEWED_ATTRIBUTE = "zero_downtime_safe"
APPLIED_MARK = re.compile(r"^\s*\[(?P<mark>[ xX])\]\s+(?P<name>\S+)")
MIGRATION_NAME = re.compile(r"^[A-Za-z_][\w]*\.[\w]+$")
# internal types whose column only gets wider from the first to the second: old values and writes still fit
WIDENING = {
    ("CharField", "TextField"), ("SlugField", "CharField"), ("SlugField", "TextField"),
    ("SmallIntegerField", "IntegerField"), ("SmallIntegerField", "BigIntegerField"),
    ("IntegerField", "BigIntegerField"),
    ("PositiveSmallIntegerField", "PositiveIntegerField"), ("PositiveSmallIntegerField", "PositiveBigIntegerField"),
    ("PositiveIntegerField", "PositiveBigIntegerField"),
    ("PositiveSmallIntegerField", "IntegerField"), ("PositiveSmallIntegerField", "BigIntegerField"),
    ("PositiveIntegerField", "BigIntegerField"),
    ("SmallAutoField", "AutoField"), ("SmallAutoField", "BigAutoField"), ("AutoField", "BigAutoField"),
}
SAFE_OPERATIONS = (
    migrations.CreateModel, migrations.RunPython, migrations.AddIndex, migrations.RemoveIndex,
    migrations.RenameIndex, migrations.RemoveConstraint, migrations.AlterModelOptions,
    migrations.AlterModelManagers, migrations.AlterIndexTogether, migrations.AlterModelTableComment,
)
READS = "the release still serving reads"
SIZES = ("max_length", "max_digits", "decimal_places")
# A column's database type is judged on both databases a site can run on (never connected: only their types)
BACKENDS = ConnectionHandler({"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
                              "postgresql": {"ENGINE": "django.db.backends.postgresql", "NAME": "unused"}})
CHECK_ROWS = (f"the gate cannot see the rows: check them and the release still serving, then mark the migration "
              f"`{REVIEWED_ATTRIBUTE} = \"why\"`")


class AppliedListError(ValueError):
    """The list of applied migrations cannot be read: the message names the line."""


@dataclass(frozen=True)
class Problem:
    migration: str  # app.migration_name
    operation: str  # e.g. "RemoveField post.views"
    reason: str

    def __str__(self) -> str:
        return f"{self.migration}: {self.operation} ({self.reason})"


def parse_applied(text: str) -> set[tuple[str, str]]:
    """The applied migrations in ``text``: one app.migration_name per line, or `showmigrations --plan` output
    ([X] applied, [ ] not), or `showmigrations` without --plan (an app's name, then its [X] lines)."""
    applied: set[tuple[str, str]] = set()
    app = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#") or line == "(no migrations)":
            continue
        marked = APPLIED_MARK.match(raw)
        if marked:
            name = marked["name"]
            if "." not in name:  # showmigrations without --plan: the app is the heading above
                if app is None:
                    raise AppliedListError(f"line {number}: {line!r} has no app (app.migration_name, or under "
                                           "an app's heading as `showmigrations` prints it)")
                name = f"{app}.{name}"
            if not MIGRATION_NAME.match(name):
                raise AppliedListError(f"line {number}: {line!r} does not name a migration (app.migration_name)")
            if marked["mark"] != " ":
                applied.add(tuple(name.split(".", 1)))
        elif MIGRATION_NAME.match(line):
            applied.add(tuple(line.split(".", 1)))
        elif re.fullmatch(r"[A-Za-z_]\w*", line):
            app = line
        else:
            raise AppliedListError(f"line {number}: {line!r} is not app.migration_name (nor `showmigrations --plan` "
                                   "output)")
    return applied


def own_apps() -> set[str]:
    """The project's own apps: those not installed as packages (not in site-packages or dist-packages)."""
    return {
        config.label
        for config in apps.get_app_configs()
        if not {"site-packages", "dist-packages"} & set(Path(config.path).parts)
    }


def unsafe_migrations(applied: set[tuple[str, str]], app_labels: set[str] | None = None) -> list[Problem]:
    """The problems of the migrations of ``app_labels`` (the project's own) that are not in ``applied``."""
    labels = own_apps() if app_labels is None else app_labels
    loader = MigrationLoader(None, ignore_no_migrations=True)
    pending = [key for key in _plan(loader) if key[0] in labels and not _is_applied(loader, key, applied)]
    release = _Release()
    problems: list[Problem] = []
    for key in pending:
        migration = loader.graph.nodes[key]
        state = loader.project_state(key, at_end=False)
        skip = bool(getattr(migration, REVIEWED_ATTRIBUTE, None))
        for operation in migration.operations:
            found = _judge(key[0], operation, state, release)
            if not skip:
                problems += [Problem(f"{key[0]}.{key[1]}", what, why) for what, why in found]
            operation.state_forwards(key[0], state)
    return problems


def _plan(loader: MigrationLoader) -> list[tuple[str, str]]:
    """Every migration in the order `migrate` would apply them all."""
    seen: dict[tuple[str, str], None] = {}
    for leaf in sorted(loader.graph.leaf_nodes()):
        for key in loader.graph.forwards_plan(leaf):
            seen.setdefault(key, None)
    return list(seen)


def _is_applied(loader: MigrationLoader, key: tuple[str, str], applied: set[tuple[str, str]]) -> bool:
    if key in applied:
        return True
    replaces = getattr(loader.graph.nodes[key], "replaces", None) or []
    return bool(replaces) and all(tuple(target) in applied for target in replaces)


class _Release:
    """What this release itself creates: the serving release never used those tables and columns."""

    def __init__(self):
        self.models: set[tuple[str, str]] = set()
        self.fields: set[tuple[str, str, str]] = set()

    def new_model(self, app: str, model: str) -> bool:
        return (app, model.lower()) in self.models

    def new_field(self, app: str, model: str, field: str) -> bool:
        return self.new_model(app, model) or (app, model.lower(), field) in self.fields


def _judge(app: str, op, state, release: _Release) -> list[tuple[str, str]]:
    """(operation, reason) for each problem of ``op``, given the project ``state`` just before it."""
    name = type(op).__name__
    if isinstance(op, migrations.SeparateDatabaseAndState):
        found, inner = [], state.clone()
        for database_op in op.database_operations:
            found += _judge(app, database_op, inner, release)
            database_op.state_forwards(app, inner)
        return found
    if isinstance(op, migrations.CreateModel):
        release.models.add((app, op.name_lower))
        return []
    if isinstance(op, SAFE_OPERATIONS):
        return []
    if isinstance(op, migrations.RunSQL):
        return [(name, "raw SQL cannot be checked: make sure the release still serving works with it, then mark "
                       f"the migration `{REVIEWED_ATTRIBUTE} = \"why\"`")]
    model_name = getattr(op, "model_name", None) or getattr(op, "name", None) or getattr(op, "old_name", "")
    model_state = state.models.get((app, str(model_name).lower()))
    if model_state is not None and (not model_state.options.get("managed", True) or model_state.options.get("proxy")):
        return []  # no table of its own
    if isinstance(op, migrations.RenameModel):
        if release.new_model(app, op.old_name):
            release.models.add((app, op.new_name_lower))
            return []
        return [(f"{name} {op.old_name_lower} -> {op.new_name_lower}",
                 f"renames its table: {READS} the old one")]
    if release.new_model(app, str(model_name)):
        return []
    if isinstance(op, migrations.DeleteModel):
        return [(f"{name} {op.name_lower}", f"{READS} that table")]
    if isinstance(op, migrations.AlterModelTable):
        old = model_state.options.get("db_table") if model_state else None
        return [] if old == op.table else [(f"{name} {op.name_lower}", f"renames its table: {READS} the old one")]
    if isinstance(op, migrations.AlterOrderWithRespectTo):
        old = model_state.options.get("order_with_respect_to") if model_state else None
        if bool(old) == bool(op.order_with_respect_to):
            return []
        return [(f"{name} {op.name_lower}", "adds the NOT NULL column _order without a database default: the "
                 "release still serving inserts rows without it" if op.order_with_respect_to else
                 f"drops the column _order: {READS} it")]
    if isinstance(op, migrations.AddConstraint):
        return [(f"{name} {op.model_name_lower}.{op.constraint.name}", _new_constraint(op.constraint))]
    if isinstance(op, migrations.AlterUniqueTogether):
        old = set(model_state.options.get("unique_together") or ()) if model_state else set()
        added = sorted(set(op.option_value or ()) - old)
        return [(f"{name} {op.name_lower}", f"makes ({', '.join(fields)}) unique together: the rows already there, "
                 f"or those the release still serving writes, may repeat it; {CHECK_ROWS}") for fields in added]
    if isinstance(op, migrations.AddField):
        return _add_field(app, op, release)
    if isinstance(op, migrations.RemoveField | migrations.RenameField | migrations.AlterField):
        field_name = op.old_name if isinstance(op, migrations.RenameField) else op.name
        if release.new_field(app, op.model_name, field_name):
            if isinstance(op, migrations.RenameField):
                release.fields.add((app, op.model_name_lower, op.new_name))
            return []
        old = model_state.fields.get(field_name) if model_state else None
        target = f"{op.model_name_lower}.{field_name}"
        if isinstance(op, migrations.RemoveField):
            what = "that table" if old is not None and old.many_to_many else "that column"
            return [(f"{name} {target}", f"{READS} {what}")]
        if isinstance(op, migrations.RenameField):
            return _rename_field(op, old, target)
        return _alter_field(app, op, state, old, target)
    return [(name, f"{name} is not an operation this gate knows, so it cannot be checked: review it, then mark the "
                   f"migration `{REVIEWED_ATTRIBUTE} = \"why\"`")]


def _add_field(app: str, op, release: _Release) -> list[tuple[str, str]]:
    release.fields.add((app, op.model_name_lower, op.name))
    field = op.field.clone()
    field.set_attributes_from_name(op.name)  # `concrete` is known once a field has its name
    if field.many_to_many or not field.concrete or field.null or field.generated or _has_db_default(field):
        return []
    reason = ("NOT NULL without a database default: the release still serving inserts rows without it (Django's "
              "default= is dropped from the table after the existing rows are filled; use null=True or db_default)")
    return [(f"AddField {op.model_name_lower}.{op.name}", reason)]


def _rename_field(op, old, target: str) -> list[tuple[str, str]]:
    if old is not None and not old.many_to_many and _column(old, op.old_name) == _column(old, op.new_name):
        return []  # db_column keeps the column's name
    kind = "table" if old is not None and old.many_to_many else "column"
    return [(f"RenameField {target} -> {op.new_name}", f"renames its {kind}: {READS} {op.old_name}")]


def _alter_field(app: str, op, state, old, target: str) -> list[tuple[str, str]]:
    what = f"AlterField {target}"
    if old is None:
        return []
    try:
        old, new = _bound_fields(app, op, state)
    except (ValueError, LookupError) as error:
        return [(what, f"its models do not load ({' '.join(str(error).split())}), so it cannot be checked: review "
                       f"it, then mark the migration `{REVIEWED_ATTRIBUTE} = \"why\"`")]
    if old.many_to_many or new.many_to_many:
        return _alter_many_to_many(old, new, what)
    found = []
    if _column(old, op.name) != _column(new, op.name):
        found.append((what, f"renames its column: {READS} {_column(old, op.name)}"))
    if old.null and not new.null and old.default in (NOT_PROVIDED, None) and not _has_db_default(old):
        found.append((what, "makes the column NOT NULL: the release still serving writes NULL where it has no value"))
    if _has_db_default(old) and not _has_db_default(new) and not new.null:
        found.append((what, "drops the database default of a NOT NULL column: the release still serving inserts "
                            "rows without it"))
    repointed = _repointed(old, new)
    if repointed:
        found.append((what, repointed))
    if new.unique and not old.unique:
        found.append((what, "makes the column unique: the rows already there, or those the release still serving "
                            f"writes, may repeat a value; {CHECK_ROWS}"))
    narrowed = None if repointed else _narrowing(old, new)
    if narrowed:
        found.append((what, narrowed))
    return found


def _bound_fields(app: str, op, state):
    """The field before and after ``op``, on models rendered from the state: relations resolved, through
    tables named. Rendered on copies, so that the state the gate walks stays unrendered (cheap to change)."""
    before, after = state.clone(), state.clone()
    op.state_forwards(app, after)
    return (before.apps.get_model(app, op.model_name)._meta.get_field(op.name),
            after.apps.get_model(app, op.model_name)._meta.get_field(op.name))


def _alter_many_to_many(old, new, what: str) -> list[tuple[str, str]]:
    if old.many_to_many != new.many_to_many:
        return [(what, f"turns a many-to-many field into a column, or back: {READS} the old one")]
    found = []
    before, after = old.m2m_db_table(), new.m2m_db_table()
    if before != after:
        found.append((what, f"moves its table from {before} to {after} (the rows are copied, then {before} is "
                            f"dropped): {READS} {before}"))
    old_target, new_target = old.related_model._meta.label_lower, new.related_model._meta.label_lower
    if old_target != new_target:
        found.append((what, f"points it at {new_target} instead of {old_target}: {READS} and writes keys of "
                            f"{old_target} there"))
    return found


def _repointed(old, new) -> str | None:
    """What changes in what a foreign key refers to: another model, another `to_field`, or a new key at all."""
    if not (new.many_to_one or new.one_to_one):
        return None
    target = f"{new.related_model._meta.label_lower}.{new.target_field.name}"
    if not (old.many_to_one or old.one_to_one):
        return (f"makes the column a foreign key to {target}: the rows already there, or those the release still "
                f"serving writes, may hold values it does not have; {CHECK_ROWS}")
    before = f"{old.related_model._meta.label_lower}.{old.target_field.name}"
    if old.related_model._meta.label_lower != new.related_model._meta.label_lower:
        return f"points the foreign key at {target} instead of {before}: the release still serving writes {before}"
    if old.target_field.name != new.target_field.name:
        return (f"makes the foreign key hold {target} (to_field) instead of {before}: the release still serving "
                f"writes {before}")
    return None


def _narrowing(old, new) -> str | None:
    if not (old.is_relation or new.is_relation):  # a key's type is its target's
        old_type, new_type = old.get_internal_type(), new.get_internal_type()
        if old_type != new_type:
            if (old_type, new_type) in WIDENING:
                return None
            return (f"changes the column's type from {old_type} to {new_type}: the release still serving writes "
                    "the old one")
        for attribute in SIZES:
            before, after = getattr(old, attribute, None), getattr(new, attribute, None)
            if after is not None and (before is None or after < before):
                return (f"narrows {attribute} from {before} to {after}: the release still serving may write values "
                        "that no longer fit")
        old = _resized(old, new)  # a wider size is judged above: what else changes in the database?
    for alias in ("default", "postgresql"):
        connection = BACKENDS[alias]
        before, after = _db_type(old, connection), _db_type(new, connection)
        if before != after:
            return (f"changes the column's type on {connection.display_name} from {before} to {after}: the release "
                    "still serving writes the old one")
    return None


def _resized(old, new):
    """``old`` with the sizes of ``new`` (max_length, digits)."""
    field = old.clone()
    for attribute in SIZES:
        if getattr(new, attribute, None) is not None:
            setattr(field, attribute, getattr(new, attribute))
    field.set_attributes_from_name(old.name)
    return field


def _db_type(field, connection) -> str:
    """The column's type and collation on ``connection``'s database (Django's own `db_parameters()`)."""
    parameters = field.db_parameters(connection=connection)
    collation = parameters.get("collation")
    return f"{parameters['type']} COLLATE {collation}" if collation else str(parameters["type"])


def _new_constraint(constraint) -> str:
    kind = {UniqueConstraint: "a unique constraint", CheckConstraint: "a check constraint"}.get(
        type(constraint), f"a constraint ({type(constraint).__name__})")
    return (f"adds {kind}: the rows already there, or those the release still serving writes, may break it; "
            f"{CHECK_ROWS}")


def _column(field, name: str) -> str:
    if field.db_column:
        return field.db_column
    return f"{name}_id" if field.many_to_one or field.one_to_one else name


def _has_db_default(field) -> bool:
    return getattr(field, "db_default", NOT_PROVIDED) is not NOT_PROVIDED
