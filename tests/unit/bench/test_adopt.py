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


class FakeServer:
    def __init__(self, calls):
        self.calls = calls

    def load_images(self, *names):
        self.calls.append(("load", *names))

    def exec(self, command, **_):
        self.calls.append(("exec", command))
        return type("Done", (), {"stdout": "136050000\n" if "inspect" in command else ""})()


class FakeSite:
    """What measure() asks of a bench.deploy.Run: fab, the server, the page, git."""

    def __init__(self, repo, answers):
        self.repo, self.calls, self.answers = repo, [], list(answers)
        self.server = FakeServer(self.calls)

    def deploy_phase(self, *args):
        self.calls.append(("fab", *args))
        return {"total_s": {"bootstrap": 20.0}.get(args[0], 30.0), "build_s": 5.0}

    def get(self, path):
        self.calls.append(("get", path))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer, ""

    def git(self, *args):
        self.calls.append(("git", *args))


def test_a_project_is_measured_from_init_to_serving_then_redeployed(tmp_path, monkeypatch):
    monkeypatch.setattr(adopt.time, "sleep", lambda s: None)
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "urls.py").write_text("urlpatterns = []\n")
    site = FakeSite(tmp_path, [ConnectionRefusedError(), 502, 200])
    inits = []
    row = adopt.measure(site, "shop", "/admin/login/", init=lambda: inits.append("init"))
    assert inits == ["init"]
    assert site.calls == [
        ("fab", "bootstrap", "--accept-new-host-key"),
        ("load", "python:3.11-slim-bookworm", "nginx:1.30"),
        ("exec", "docker tag python:3.11-slim-bookworm python:3.11-slim"),
        ("fab", "deploy"),
        ("get", "/admin/login/"), ("get", "/admin/login/"), ("get", "/admin/login/"),
        ("exec", "docker ps --filter label=shop.project=shop --format '{{.Image}}' | head -n 1 | "
                 "xargs docker image inspect --format '{{.Size}}'"),
        ("git", "commit", "-qam", "bench: a one-line change"),
        ("fab", "deploy"),
    ]
    assert (tmp_path / "shop" / "urls.py").read_text() == "urlpatterns = []\n# bench: one-line change 1\n"
    assert {key: row[key] for key in ("kind", "bootstrap_s", "first_deploy_s", "image_mb", "redeploy_s",
                                      "status")} == {
        "kind": "shop", "bootstrap_s": 20.0, "first_deploy_s": 30.0, "image_mb": 136.1, "redeploy_s": 30.0,
        "status": 200}
    assert row["init_s"] is not None and row["serving_s"] >= 0


def test_the_blog_has_no_init(tmp_path):
    (tmp_path / "mysite").mkdir()
    (tmp_path / "mysite" / "urls.py").write_text("urlpatterns = []\n")
    site = FakeSite(tmp_path, [200])
    row = adopt.measure(site, "mysite", "/")
    assert row["init_s"] is None and ("get", "/") in site.calls


def test_a_page_that_never_answers_200_is_an_error(tmp_path):
    with pytest.raises(BenchError, match="/ answered 500 through nginx after the first deploy"):
        adopt.wait_for(FakeSite(tmp_path, [500]), "/", timeout=0)
