"""Tests you can find: no test module imports another (what several share lives in tests/harness/)."""

from pathlib import Path

import pytest

from tests.harness.layering import Tree

ROOT = Path(__file__).resolve().parents[2]
TESTS = Tree.of(ROOT, [ROOT / "tests"])


def imported_test_modules(tree: Tree, path: Path) -> set[str]:
    return {name for name in tree.imports(path) if name.rpartition(".")[2].startswith("test_")
            and name.startswith("tests.")}


def test_the_check_sees_a_test_module_imported(tmp_path):
    (tmp_path / "tests" / "unit").mkdir(parents=True)
    bad = tmp_path / "tests" / "unit" / "test_b.py"
    bad.write_text("from tests.unit import test_a as case\nfrom tests.unit.test_c import HELPER\n"
                   "from tests.harness import flows\n")
    tree = Tree.of(tmp_path, [tmp_path / "tests"])
    assert imported_test_modules(tree, bad) == {"tests.unit.test_a", "tests.unit.test_c"}


@pytest.mark.parametrize("path", [p for p in TESTS.paths if p.name.startswith("test_")],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_no_test_module_imports_another(path):
    assert imported_test_modules(TESTS, path) == set()
