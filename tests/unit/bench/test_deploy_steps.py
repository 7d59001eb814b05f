"""Reading `fab deploy`'s step lines (bench/deploy.py): nesting, failures, and the overhead sum."""

from bench.deploy import parse_steps, summarize

OUTPUT = """\
--> preflight: env file, git commit, docker on the server
    commit abc1234, domain blog.example, compose v1
  ok preflight: env file, git commit, docker on the server (0.8s)
--> lock /home/deploy/apps/mysite/.lock
  ok lock /home/deploy/apps/mysite/.lock (0.2s)
--> ship abc1234 to /home/deploy/apps/mysite/releases/r1
  ok ship abc1234 to /home/deploy/apps/mysite/releases/r1 (1.1s)
--> build images mysite-django:r1 and mysite-nginx:r1 on the server
  ok build images mysite-django:r1 and mysite-nginx:r1 on the server (12.5s)
--> ensure nginx is up
    nginx (mysite_nginx_1) already runs this image: left alone, no reload
  ok ensure nginx is up (0.3s)
--> start mysite-r1 beside mysite-r0
  ok start mysite-r1 beside mysite-r0 (0.9s)
--> health-check mysite-r1 directly (/healthz and / as blog.example, 60s)
  ok health-check mysite-r1 directly (/healthz and / as blog.example, 60s) (3.0s)
--> route traffic to mysite-r1 (alias mysite) and wait for DNS
  ok route traffic to mysite-r1 (alias mysite) and wait for DNS (2.4s)
--> verify through nginx (/healthz and / as blog.example)
  ok verify through nginx (/healthz and / as blog.example) (0.5s)
--> stop the old container(s) gracefully: mysite-r0
  ok stop the old container(s) gracefully: mysite-r0 (1.5s)
deployed r1 to 127.0.0.1 in 24.0s
"""

NESTED = """\
--> ensure nginx is up
--> start nginx
  ok start nginx (4.0s)
  ok ensure nginx is up (4.5s)
--> health-check mysite-r2 directly
  x health-check mysite-r2 directly failed after 60.2s
"""


def test_parse_steps_in_order_with_times():
    steps = parse_steps(OUTPUT)
    assert [s["title"].split()[0] for s in steps] == [
        "preflight:", "lock", "ship", "build", "ensure", "start", "health-check", "route", "verify", "stop",
    ]  # fmt: skip
    assert steps[3]["seconds"] == 12.5
    assert all(s["depth"] == 0 and s["ok"] for s in steps)


def test_nested_and_failed_steps():
    steps = parse_steps(NESTED)
    assert [(s["title"], s["seconds"], s["depth"], s["ok"]) for s in steps] == [
        ("ensure nginx is up", 4.5, 0, True),
        ("start nginx", 4.0, 1, True),
        ("health-check mysite-r2 directly", 60.2, 0, False),
    ]


def test_summarize_overhead_is_total_minus_build_and_switch():
    summary = summarize(parse_steps(OUTPUT), total=26.0)
    assert summary["build_s"] == 12.5
    assert summary["switch_s"] == 8.6  # nginx 0.3 + start 0.9 + health 3.0 + route 2.4 + verify 0.5 + stop 1.5
    assert summary["overhead_s"] == 4.9
    assert len(summary["steps"]) == 10


def test_summarize_counts_nested_steps_once():
    summary = summarize(parse_steps(NESTED), total=70.0)
    assert summary["switch_s"] == 64.7  # ensure nginx (4.5, includes start nginx) + the failed health check
    assert [s["title"] for s in summary["steps"]] == ["ensure nginx is up", "health-check mysite-r2 directly"]
