"""manage.py unsafe_migrations (deploy/djangoapp/migration_gate.py) against real migration files of a throwaway app.

The app `shop` lives in a temporary folder: 0001 is what the serving release has; each later
migration holds one kind of change. The gate runs in subprocesses (as on a laptop, with no database
server: DATABASE_URL points at a port where nothing listens).
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from deploy.djangoapp.migration_gate import AppliedListError, parse_applied

REPO = Path(__file__).resolve().parents[4]
NOWHERE = "postgres://nobody:nothing@127.0.0.1:1/none"  # opening it would fail: the gate must not try

HEADER = "from django.db import migrations, models\n\n\n"
INITIAL = '''
class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel("Item", [
            ("id", models.BigAutoField(primary_key=True, serialize=False)),
            ("name", models.CharField(max_length=100)),
            ("price", models.IntegerField()),
            ("note", models.CharField(max_length=20, null=True)),
            ("old_code", models.CharField(max_length=10)),
            ("legacy", models.TextField()),
            ("qty", models.SmallIntegerField()),
            ("label", models.CharField(max_length=50)),
            ("picked", models.BooleanField(default=False)),
            ("kept", models.CharField(max_length=10, db_column="kept_col")),
            ("shelf", models.IntegerField(db_default=1)),
        ]),
        migrations.CreateModel("Box", [
            ("id", models.BigAutoField(primary_key=True, serialize=False)),
            ("items", models.ManyToManyField(to="shop.item")),
        ]),
        migrations.CreateModel("Crate", [("id", models.BigAutoField(primary_key=True, serialize=False))]),
        migrations.CreateModel("Maker", [
            ("id", models.AutoField(primary_key=True, serialize=False)),
            ("code", models.CharField(max_length=10, unique=True)),
            ("email", models.CharField(max_length=50)),
        ]),
        migrations.CreateModel("Part", [
            ("id", models.BigAutoField(primary_key=True, serialize=False)),
            ("item", models.ForeignKey(on_delete=models.CASCADE, to="shop.item")),
            ("maker", models.ForeignKey(on_delete=models.CASCADE, to="shop.maker")),
            ("supplier", models.ForeignKey(on_delete=models.CASCADE, related_name="+", to="shop.maker")),
            ("serial", models.CharField(max_length=20)),
            ("makers", models.ManyToManyField(related_name="+", to="shop.maker")),
        ]),
        migrations.CreateModel("Shadow", [("id", models.BigAutoField(primary_key=True, serialize=False))],
                               options={"managed": False}),
    ]
'''
# name: (operations, what the gate says when this migration is the only one pending)
CASES = {
    "0002_add_nullable": ('migrations.AddField("item", "comment", models.CharField(max_length=10, null=True))', []),
    "0003_add_not_null_with_default": (
        'migrations.AddField("item", "sku", models.CharField(max_length=10, default="x"))',
        ["AddField item.sku (NOT NULL without a database default: the release still serving inserts rows without it"],
    ),
    "0004_add_db_default": ('migrations.AddField("item", "stock", models.IntegerField(db_default=0))', []),
    "0005_add_many_to_many": ('migrations.AddField("crate", "items", models.ManyToManyField(to="shop.item"))', []),
    "0006_remove_field": ('migrations.RemoveField("item", "legacy")',
                          ["RemoveField item.legacy (the release still serving reads that column)"]),
    "0007_rename_field": ('migrations.RenameField("item", "old_code", "code")',
                          ["RenameField item.old_code -> code (renames its column: the release still serving reads "
                           "old_code)"]),
    "0008_rename_kept_column_stays": ('migrations.RenameField("item", "kept", "retained")', []),
    "0009_not_null": ('migrations.AlterField("item", "note", models.CharField(max_length=20, default=""))',
                      ["AlterField item.note (makes the column NOT NULL: the release still serving writes NULL where "
                       "it has no value)"]),
    "0010_widen": ('migrations.AlterField("item", "qty", models.IntegerField()), '
                   'migrations.AlterField("item", "label", models.CharField(max_length=80)), '
                   'migrations.AlterField("item", "retained", models.TextField(db_column="kept_col"))', []),
    "0011_narrow": ('migrations.AlterField("item", "name", models.CharField(max_length=20))',
                    ["AlterField item.name (narrows max_length from 100 to 20: the release still serving may write "
                     "values that no longer fit)"]),
    "0012_change_type": ('migrations.AlterField("item", "price", models.CharField(max_length=10))',
                         ["AlterField item.price (changes the column's type from IntegerField to CharField: the "
                          "release still serving writes the old one)"]),
    "0013_alter_column_name": ('migrations.AlterField("item", "label", models.CharField(max_length=80, '
                               'db_column="title"))',
                               ["AlterField item.label (renames its column: the release still serving reads label)"]),
    "0014_drop_db_default": ('migrations.AlterField("item", "shelf", models.IntegerField())',
                             ["AlterField item.shelf (drops the database default of a NOT NULL column: the release "
                              "still serving inserts rows without it)"]),
    "0015_run_python": ("migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop)", []),
    "0016_run_sql": ('migrations.RunSQL("SELECT 1")', ["RunSQL (raw SQL cannot be checked"]),
    "0017_delete_model": ('migrations.DeleteModel("Crate")',
                          ["DeleteModel crate (the release still serving reads that table)"]),
    "0018_rename_model": ('migrations.RenameModel("Box", "Carton")',
                          ["RenameModel box -> carton (renames its table: the release still serving reads the old "
                           "one)"]),
    "0019_alter_table": ('migrations.AlterModelTable("item", "shop_things")',
                         ["AlterModelTable item (renames its table: the release still serving reads the old one)"]),
    "0020_new_in_this_release": (
        'migrations.CreateModel("Temp", [("id", models.BigAutoField(primary_key=True, serialize=False)), '
        '("x", models.IntegerField())]), migrations.RemoveField("temp", "x"), '
        'migrations.AddField("item", "tmp", models.IntegerField(null=True)), '
        'migrations.RenameField("item", "tmp", "tmp2"), migrations.RemoveField("item", "tmp2"), '
        'migrations.DeleteModel("Temp")', []),
    "0021_state_only": ('migrations.SeparateDatabaseAndState(state_operations=[migrations.RemoveField("item", '
                        '"picked")])', []),
    "0022_database_half": ('migrations.SeparateDatabaseAndState(database_operations=[migrations.RemoveField('
                           '"item", "qty")], state_operations=[migrations.RemoveField("item", "qty")])',
                           ["RemoveField item.qty (the release still serving reads that column)"]),
    "0023_unmanaged": ('migrations.DeleteModel("Shadow")', []),
    "0024_indexes_and_options": ('migrations.AddIndex("item", models.Index(fields=["name"], name="item_name_idx")), '
                                 'migrations.AlterModelOptions("item", {"ordering": ["name"]})', []),
    "0025_unknown_operation": ("UnknownOperation()", ["UnknownOperation (UnknownOperation is not an operation this "
                                                      "gate knows, so it cannot be checked"]),
    "0026_many_to_many_table": ('migrations.AlterField("carton", "items", models.ManyToManyField(to="shop.item", '
                                'db_table="shop_carton_things"))',
                                ["AlterField carton.items (moves its table from shop_carton_items to "
                                 "shop_carton_things (the rows are copied, then shop_carton_items is dropped): the "
                                 "release still serving reads shop_carton_items)"]),
    "0027_many_to_many_target": ('migrations.AlterField("part", "makers", models.ManyToManyField(related_name="+", '
                                 'to="shop.item"))',
                                 ["AlterField part.makers (points it at shop.item instead of shop.maker"]),
    "0028_foreign_key_repointed": ('migrations.AlterField("part", "supplier", models.ForeignKey('
                                   'on_delete=models.CASCADE, related_name="+", to="shop.item"))',
                                   ["AlterField part.supplier (points the foreign key at shop.item.id instead of "
                                    "shop.maker.id: the release still serving writes shop.maker.id)"]),
    "0029_foreign_key_to_field": ('migrations.AlterField("part", "maker", models.ForeignKey(on_delete=models.CASCADE, '
                                  'to="shop.maker", to_field="code"))',
                                  ["AlterField part.maker (makes the foreign key hold shop.maker.code (to_field) "
                                   "instead of shop.maker.id"]),
    "0030_unique": ('migrations.AlterField("part", "serial", models.CharField(max_length=20, unique=True))',
                    ["AlterField part.serial (makes the column unique: the rows already there"]),
    "0031_one_to_one": ('migrations.AlterField("part", "item", models.OneToOneField(on_delete=models.CASCADE, '
                        'to="shop.item"))',
                        ["AlterField part.item (makes the column unique"]),
    "0032_unique_constraint": ('migrations.AddConstraint("maker", models.UniqueConstraint(fields=["email"], '
                               'name="maker_email_unique"))',
                               ["AddConstraint maker.maker_email_unique (adds a unique constraint: the rows already "
                                "there, or those the release still serving writes, may break it; the gate cannot see "
                                "the rows"]),
    "0033_check_constraint": ('migrations.AddConstraint("part", models.CheckConstraint(condition=models.Q(serial__gt='
                              '""), name="part_serial_set"))',
                              ["AddConstraint part.part_serial_set (adds a check constraint"]),
    "0034_unique_together": ('migrations.AlterUniqueTogether("maker", {("code", "email")})',
                             ["AlterUniqueTogether maker (makes (code, email) unique together"]),
    "0035_database_type": ('migrations.AlterField("maker", "code", FixedChar(max_length=10, unique=True))',
                           ["AlterField maker.code (changes the column's type on SQLite from varchar(10) to char(10)"]),
    "0036_nothing_in_the_database": (
        'migrations.AlterField("maker", "email", models.CharField(max_length=50, help_text="where to write", '
        'verbose_name="e-mail")), '
        'migrations.AlterField("part", "supplier", models.ForeignKey(on_delete=models.PROTECT, '
        'related_name="supplied", to="shop.item", verbose_name="supplied by")), '
        'migrations.AlterField("carton", "items", models.ManyToManyField(blank=True, db_table="shop_carton_things", '
        'related_name="cartons", to="shop.item")), '
        'migrations.AlterUniqueTogether("maker", {("code", "email")}), '
        'migrations.RemoveConstraint("part", "part_serial_set")', []),
}
REVIEWED_NAME = "0099_reviewed"
REVIEWED = '''
class Migration(migrations.Migration):
    zero_downtime_safe = "reviewed: nothing reads Item.label any more"
    dependencies = [("shop", "{previous}")]
    operations = [migrations.RemoveField("item", "label")]
'''
UNKNOWN = '''
class UnknownOperation(migrations.operations.base.Operation):
    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        pass

'''
FIXED_CHAR = '''
class FixedChar(models.CharField):
    def db_type(self, connection):
        return f"char({self.max_length})"

'''
NAMES = ["0001_initial", *CASES, REVIEWED_NAME]

# docs/DATABASES.md's example, renaming Post.views to Post.view_count: expand, contract, cleanup (app `counter`);
# and the plain way that breaks the serving release (app `naive`)
COUNTER_INITIAL = """
class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [migrations.CreateModel("Post", [
        ("id", models.BigAutoField(primary_key=True, serialize=False)),
        ("views", models.PositiveIntegerField(default=0, editable=False)),
    ])]
"""
RECIPE = {
    "0002_expand": """
def copy_views(apps, schema_editor):
    apps.get_model("counter", "Post").objects.update(view_count=models.F("views"))


class Migration(migrations.Migration):
    dependencies = [("counter", "0001_initial")]
    operations = [
        migrations.AddField("post", "view_count", models.PositiveIntegerField(null=True, default=0, editable=False)),
        migrations.RunPython(copy_views, migrations.RunPython.noop),
    ]
""",
    "0003_contract": """
class Migration(migrations.Migration):
    dependencies = [("counter", "0002_expand")]
    operations = [
        migrations.AlterField("post", "views", models.PositiveIntegerField(default=0, db_default=0, editable=False)),
        migrations.SeparateDatabaseAndState(state_operations=[migrations.RemoveField("post", "views")]),
        migrations.AlterField("post", "view_count", models.PositiveIntegerField(default=0, db_default=0,
                                                                               editable=False)),
    ]
""",
    "0004_cleanup": """
class Migration(migrations.Migration):
    zero_downtime_safe = "no release since 0003 reads Post.views"
    dependencies = [("counter", "0003_contract")]
    operations = [migrations.RunSQL("ALTER TABLE counter_post DROP COLUMN views")]
""",
}
NAIVE = """
class Migration(migrations.Migration):
    dependencies = [("naive", "0001_initial")]
    operations = [
        migrations.AddField("post", "view_count", models.PositiveIntegerField(null=True, default=0, editable=False)),
        migrations.RemoveField("post", "views"),
    ]
"""

# models that do not load from the migrations (a key to an app that none of them creates): app `loose`
LOOSE_INITIAL = """
class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [migrations.CreateModel("Thing", [
        ("id", models.BigAutoField(primary_key=True, serialize=False)),
        ("owner", models.ForeignKey(on_delete=models.CASCADE, to="elsewhere.owner")),
    ])]
"""
LOOSE_ALTER = """
class Migration(migrations.Migration):
    dependencies = [("loose", "0001_initial")]
    operations = [migrations.AlterField("thing", "owner", models.ForeignKey(null=True, on_delete=models.CASCADE,
                                                                          to="elsewhere.owner"))]
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A folder with the app `shop` and a settings module that adds it to the test settings."""
    root = tmp_path_factory.mktemp("gate")
    folder = root / "shop" / "migrations"
    folder.mkdir(parents=True)
    (root / "shop" / "__init__.py").write_text("")
    (root / "shop" / "models.py").write_text("")
    (folder / "__init__.py").write_text("")
    (folder / "0001_initial.py").write_text(HEADER + INITIAL)
    previous = "0001_initial"
    for name, (operations, _) in CASES.items():
        extra = "".join(code for name_, code in (("UnknownOperation", UNKNOWN), ("FixedChar", FIXED_CHAR))
                        if name_ in operations)
        body = f"class Migration(migrations.Migration):\n    dependencies = [(\"shop\", \"{previous}\")]\n" \
               f"    operations = [{operations}]\n"
        (folder / f"{name}.py").write_text(HEADER + extra + body)
        previous = name
    (folder / f"{REVIEWED_NAME}.py").write_text(HEADER + REVIEWED.format(previous=previous))
    for app, files in (("counter", {"0001_initial": COUNTER_INITIAL, **RECIPE}),
                       ("naive", {"0001_initial": COUNTER_INITIAL, "0002_remove_views": NAIVE}),
                       ("loose", {"0001_initial": LOOSE_INITIAL, "0002_alter_owner": LOOSE_ALTER})):
        folder = root / app / "migrations"
        folder.mkdir(parents=True)
        for name in ("__init__.py", "../__init__.py", "../models.py"):
            (folder / name).write_text("")
        for name, text in files.items():
            (folder / f"{name}.py").write_text(HEADER + text)
    (root / "gate_settings.py").write_text(
        "from mysite.settings.test import *  # noqa\n"
        "INSTALLED_APPS = [*INSTALLED_APPS, 'shop', 'counter', 'naive', 'loose']\n")
    return root


def run(project, *args, stdin=None, settings="gate_settings"):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "MYSITE_"))}
    env.update(DJANGO_SETTINGS_MODULE=settings, DATABASE_URL=NOWHERE,
               PYTHONPATH=os.pathsep.join([str(project), str(REPO)]))
    return subprocess.run([sys.executable, str(REPO / "manage.py"), *args], cwd=project, env=env, input=stdin,
                          capture_output=True, text=True, timeout=120)


def gate(project, applied, **kwargs):
    return run(project, "unsafe_migrations", "--applied", "-", stdin="\n".join(applied) + "\n", **kwargs)


def applied_but(name):
    blog = ("0001_initial", "0002_cache_table", "0003_names_in_one_order_on_every_database")
    return [f"blog.{m}" for m in blog] + [f"shop.{m}" for m in NAMES if m != name]


@pytest.fixture(scope="module")
def verdicts(project):
    """What the gate says of each shop migration when it alone is pending: one subprocess for all of them."""
    code = textwrap.dedent(f"""
        import json, django
        django.setup()
        from deploy.djangoapp.migration_gate import unsafe_migrations
        chains = {{"shop": {NAMES!r}, "counter": {["0001_initial", *RECIPE]!r},
                   "naive": ["0001_initial", "0002_remove_views"], "loose": ["0001_initial", "0002_alter_owner"]}}
        everything = {{(app, n) for app, names in chains.items() for n in names}}
        print(json.dumps({{f"{{app}}.{{n}}": [str(p) for p in unsafe_migrations(everything - {{(app, n)}}, {{app}})]
                          for app, names in chains.items() for n in names}}))
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "MYSITE_"))}
    env.update(DJANGO_SETTINGS_MODULE="gate_settings", DATABASE_URL=NOWHERE,
               PYTHONPATH=os.pathsep.join([str(project), str(REPO)]))
    done = subprocess.run([sys.executable, "-c", code], cwd=project, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("name", list(CASES))
def test_each_kind_of_operation(verdicts, name):
    expected = CASES[name][1]
    found = verdicts[f"shop.{name}"]
    assert len(found) == len(expected), found
    for line, start in zip(found, expected, strict=True):
        assert line.startswith(f"shop.{name}: {start}"), line


def test_a_reviewed_migration_is_skipped(verdicts):
    assert verdicts[f"shop.{REVIEWED_NAME}"] == []


def test_the_documented_rename_passes_each_deploy_and_the_plain_one_does_not(verdicts):
    assert [verdicts[f"counter.{name}"] for name in RECIPE] == [[], [], []]
    assert verdicts["naive.0002_remove_views"] == [
        "naive.0002_remove_views: RemoveField post.views (the release still serving reads that column)"
    ]


def test_models_that_do_not_load_are_refused_not_passed(verdicts):
    [line] = verdicts["loose.0002_alter_owner"]
    assert line.startswith("loose.0002_alter_owner: AlterField thing.owner (its models do not load (The field "
                           "loose.Thing.owner was declared with a lazy reference to 'elsewhere.owner'"), line
    assert line.endswith("so it cannot be checked: review it, then mark the migration `zero_downtime_safe = \"why\"`)")


def test_the_cli_lists_problems_one_a_line_and_exits_1(project):
    done = gate(project, applied_but("0006_remove_field"))
    assert done.returncode == 1, done.stderr
    assert done.stdout == (
        "shop.0006_remove_field: RemoveField item.legacy (the release still serving reads that column)\n"
    )
    assert done.stderr == ""


def test_the_cli_is_quiet_and_exits_0_when_all_is_safe(project):
    done = gate(project, applied_but("0002_add_nullable"))
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_a_first_deploy_has_nothing_unsafe(project):
    """Nothing applied yet: every table is created by this release, so nothing can break an older one."""
    done = gate(project, [])
    lines = done.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == ["shop.0016_run_sql", "shop.0025_unknown_operation"]
    assert done.returncode == 1


def test_every_pending_migration_is_checked_in_order(project):
    done = gate(project, ["shop.0001_initial", "shop.0002_add_nullable"])
    names = [line.split(":")[0] for line in done.stdout.splitlines()]
    assert names == sorted(names)
    assert "shop.0003_add_not_null_with_default" in names and f"shop.{REVIEWED_NAME}" not in names
    assert "shop.0007_rename_field" in names and "shop.0020_new_in_this_release" not in names


def test_raw_showmigrations_plan_output(project):
    plan = "\n".join(f"[X]  {m}" for m in applied_but("0012_change_type") if "0012" not in m)
    plan += "\n[ ]  shop.0012_change_type\n"
    done = gate(project, plan.splitlines())
    assert done.stdout.startswith("shop.0012_change_type: AlterField item.price"), done.stdout + done.stderr


def test_the_real_projects_plan(tmp_path):
    """showmigrations --plan of a real database, fed back: this release's own migrations are all safe."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "MYSITE_"))}
    env.update(DJANGO_SETTINGS_MODULE="mysite.settings.test", DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3")

    def manage(*args, stdin=None):
        return subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=env, input=stdin,
                              capture_output=True, text=True, timeout=120)

    assert manage("migrate", "blog", "0002", "-v0").returncode == 0
    plan = manage("showmigrations", "--plan").stdout
    assert "[X]  blog.0002_cache_table" in plan and "[ ]  blog.0003" in plan
    done = manage("unsafe_migrations", "--applied", "-", stdin=plan)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    verbose = manage("showmigrations", "--plan", "-v", "2").stdout  # with each migration's dependencies
    assert manage("unsafe_migrations", "--applied", "-", stdin=verbose).returncode == 0
    first_deploy = manage("unsafe_migrations", "--applied", "-", stdin="")  # a fresh database: all of them pending
    assert (first_deploy.returncode, first_deploy.stdout) == (0, "")


def test_a_file_that_cannot_be_read_is_one_line_and_exit_2(project, tmp_path):
    missing = run(project, "unsafe_migrations", "--applied", str(tmp_path / "nope.txt"))
    assert missing.returncode == 2
    assert missing.stderr.strip() == (
        f"CommandError: cannot read --applied {tmp_path / 'nope.txt'}: No such file or directory"
    )
    bad = gate(project, ["shop.0001_initial", "DROP TABLE x;"])
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "CommandError: --applied -, line 2: 'DROP TABLE x;' is not app.migration_name "
        "(nor `showmigrations --plan` output)"
    ]


@pytest.mark.parametrize(
    ("text", "applied"),
    [
        ("blog.0001_initial\nblog.0002_cache_table\n", {("blog", "0001_initial"), ("blog", "0002_cache_table")}),
        ("[X]  blog.0001_initial\n[ ]  blog.0002_cache_table\n", {("blog", "0001_initial")}),
        ("[X]  blog.0002_cache_table ... (blog.0001_initial)\n", {("blog", "0002_cache_table")}),
        ("admin\n [X] 0001_initial\n [ ] 0002_x\nblog\n (no migrations)\n", {("admin", "0001_initial")}),
        ("# a comment\n\n  blog.0001_initial  \n", {("blog", "0001_initial")}),
        ("", set()),
    ],
)
def test_parse_applied(text, applied):
    assert parse_applied(text) == applied


@pytest.mark.parametrize("text", [" [X] 0001_initial\n", "blog.0001 initial\n", "[X] ../../etc\n"])
def test_parse_applied_refuses_the_rest(text):
    with pytest.raises(AppliedListError, match="line 1: "):
        parse_applied(text)
