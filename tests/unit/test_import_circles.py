"""No import circles anywhere in the tree: each module's imports (at any depth of the file, TYPE_CHECKING ones
too) point one way. A circle is a sign two modules hold one idea, or one module two."""

from pathlib import Path

from tests.harness.layering import Tree, circles, import_graph

ROOT = Path(__file__).resolve().parents[2]
PLACES = ["deploy", "tasks", "bench", "testbed", "tests", "blog", "mysite", "fabfile.py"]


def test_the_check_finds_a_circle(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "a.py").write_text("from pkg import b\n")
    (tmp_path / "pkg" / "b.py").write_text("def f():\n    from pkg.c import x\n")
    (tmp_path / "pkg" / "c.py").write_text("from . import a\nx = 1\n")
    (tmp_path / "pkg" / "d.py").write_text("import pkg.a\n")
    graph = import_graph(Tree.of(tmp_path, [tmp_path / "pkg"]))
    assert circles(graph) == [["pkg.a", "pkg.b", "pkg.c"]]


def test_no_import_circles():
    tree = Tree.of(ROOT, [ROOT / place for place in PLACES if (ROOT / place).exists()])
    assert circles(import_graph(tree)) == []
