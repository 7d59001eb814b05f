"""The adopt benchmark's pure parts (bench/adopt.py, bench/adopt_report.py): sizes, the change, ratios, the table."""

import pytest

from bench import adopt, report
from bench.stack import BenchError


def test_image_size_is_read_in_mb():
    assert adopt.image_mb("272104567\n") == 272.1
    with pytest.raises(BenchError, match="no size: ''"):
        adopt.image_mb("")
    with pytest.raises(BenchError, match="no size"):
        adopt.image_mb("Error: No such image: x")


def test_the_code_only_change_is_one_comment_line_more():
    assert adopt.one_line_change("urlpatterns = []\n") == "urlpatterns = []\n# bench: one-line change 1\n"
    assert adopt.one_line_change("x = 1", 2) == "x = 1\n# bench: one-line change 2\n"


ROWS = [
    {"kind": "mysite", "init_s": None, "bootstrap_s": 20.0, "first_deploy_s": 40.0, "serving_s": 60.5,
     "image_mb": 272.1, "redeploy_s": 10.0, "base_images_copy_s": 13.0},
    {"kind": "shop", "init_s": 1.5, "bootstrap_s": 25.0, "first_deploy_s": 30.0, "serving_s": 57.0,
     "image_mb": 136.05, "redeploy_s": None, "base_images_copy_s": 12.5},
    {"kind": "cms", "error": "BenchError: fab deploy failed (exit 1):"},
]


def test_ratios_are_each_project_over_the_blog():
    rows = adopt.with_ratios(ROWS)
    assert rows[0]["ratios"] == {"bootstrap_s": 1.0, "first_deploy_s": 1.0, "serving_s": 1.0, "image_mb": 1.0,
                                 "redeploy_s": 1.0}
    assert rows[1]["ratios"] == {"bootstrap_s": 1.25, "first_deploy_s": 0.75, "serving_s": 0.94, "image_mb": 0.5,
                                 "redeploy_s": None}
    assert rows[2]["ratios"] == dict.fromkeys(adopt.RATIOS)


def test_without_the_blog_there_is_no_ratio():
    assert adopt.with_ratios(ROWS[1:2])[0]["ratios"] == dict.fromkeys(adopt.RATIOS)


def test_a_failure_is_its_kind_and_one_line():
    error = BenchError("fab deploy failed (exit 1):\n--> build images\nlots more")
    assert adopt.failure("cms", error) == {"kind": "cms", "error": "BenchError: fab deploy failed (exit 1):"}


def test_the_report_has_the_table_the_ratios_and_the_failures():
    out = report.render({"date": "2026-12-07T12:00:00", "commit": "abc1234",
                         "adopt": {"server": "bookworm", "rows": adopt.with_ratios(ROWS)}})
    assert out.split("\n", 2)[2] == """\
## from init to serving, per kind of project (bookworm)
kind    init s  bootstrap s  first deploy s  init->serving s  image MB  code-only redeploy s
------  ------  -----------  --------------  ---------------  --------  --------------------
mysite       -         20.0            40.0             60.5     272.1                  10.0
shop      1.50         25.0            30.0             57.0     136.1                     -

## ratio to the blog's (same run)
kind    bootstrap  first deploy  init->serving  image MB  code-only redeploy
------  ---------  ------------  -------------  --------  ------------------
mysite       1.00          1.00           1.00      1.00                1.00
shop         1.25          0.75           0.94      0.50                   -
base images copied in after bootstrap (no registry here; not in init->serving): mysite 13.0s, shop 12.5s
adopt: cms FAILED: BenchError: fab deploy failed (exit 1):"""
