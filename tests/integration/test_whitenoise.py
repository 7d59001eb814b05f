"""The app serves /static/ itself (WhiteNoise), as nginx asks it to on a cluster (MYSITE_STATIC_FROM_APP=1).

Like the container: production settings, collectstatic with the manifest storage (hashed names), then
gzip_static.py (start.sh's order), then requests through Django's test client in a fresh process.
"""

import gzip
import json
import subprocess
import sys

import pytest

from tests.harness.settings_env import REPO, STRONG_KEY, clean_env, copy_app

FOREVER = "max-age=315360000, public, immutable"  # WhiteNoise's for a hashed name (10 years)

CLIENT = r"""
import json, django
django.setup()
from django.conf import settings
from django.test import Client

manifest = json.load(open(settings.STATIC_ROOT / "staticfiles.json"))["paths"]
css = "/static/" + manifest["blog/css/site.css"]
svg = "/static/" + manifest["blog/favicon.svg"]
c = Client(HTTP_HOST="example.com")

def answer(response):
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return {"status": response.status_code, "headers": dict(response.headers), "body": body.hex()}

plain = c.get(css)
print(json.dumps({
    "middleware": settings.MIDDLEWARE[:3],
    "css": css,
    "svg": svg,
    "hashed": answer(plain),
    "gzip": answer(c.get(css, HTTP_ACCEPT_ENCODING="gzip, deflate, br")),
    "unhashed": answer(c.get("/static/blog/css/site.css")),
    "svg_answer": answer(c.get(svg)),
    "not_modified": answer(c.get(css, HTTP_IF_NONE_MATCH=plain.headers["ETag"])),
    "head": answer(c.head(css)),
    "missing": c.get("/static/blog/css/nothing.0123456789ab.css").status_code,
    "media": c.get("/media/anything.png").status_code,
}))
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The answers of a production app to static requests, after start.sh's collectstatic and gzip_static."""
    root = copy_app(tmp_path_factory.mktemp("app"))
    env = clean_env(
        DJANGO_SETTINGS_MODULE="mysite.settings.production",
        DJANGO_SECRET_KEY=STRONG_KEY,
        DJANGO_ALLOWED_HOSTS="example.com",
    )

    def run(*argv):
        done = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    run(sys.executable, "manage.py", "migrate", "--noinput", "-v0")
    run(sys.executable, "manage.py", "collectstatic", "--noinput", "-v0")
    run(sys.executable, str(REPO / "compose/production/django/gzip_static.py"), str(root / "staticfiles"))
    done = run(sys.executable, "-c", CLIENT)
    answers = json.loads(done.stdout.strip().splitlines()[-1])
    answers["root"] = root
    return answers


def test_whitenoise_comes_right_after_the_security_middleware(served):
    assert served["middleware"][:2] == [
        "django.middleware.security.SecurityMiddleware",
        "whitenoise.middleware.WhiteNoiseMiddleware",
    ]


def test_a_hashed_file_is_served_for_ever(served):
    answer = served["hashed"]
    assert answer["status"] == 200
    assert answer["headers"]["Cache-Control"] == FOREVER
    assert answer["headers"]["Content-Type"].startswith("text/css")
    collected = served["root"] / "staticfiles" / served["css"][len("/static/"):]
    assert bytes.fromhex(answer["body"]) == collected.read_bytes()
    assert answer["headers"]["Vary"] == "Accept-Encoding"
    assert "Content-Encoding" not in answer["headers"]
    # SecurityMiddleware still wraps it (nginx replaces these with its own on the way out)
    assert answer["headers"]["X-Content-Type-Options"] == "nosniff"
    assert served["svg_answer"]["status"] == 200 and served["svg_answer"]["headers"]["Cache-Control"] == FOREVER


def test_the_gzip_variant_is_the_one_gzip_static_wrote(served):
    answer = served["gzip"]
    assert answer["status"] == 200
    assert answer["headers"]["Content-Encoding"] == "gzip"
    assert answer["headers"]["Cache-Control"] == FOREVER
    assert answer["headers"]["Vary"] == "Accept-Encoding"
    original = served["root"] / "staticfiles" / served["css"][len("/static/"):]
    assert gzip.decompress(bytes.fromhex(answer["body"])) == original.read_bytes()
    assert len(answer["body"]) < len(served["hashed"]["body"])


def test_an_unhashed_name_is_cached_an_hour_as_nginx_does(served):
    answer = served["unhashed"]
    assert answer["status"] == 200
    assert answer["headers"]["Cache-Control"] == "max-age=3600, public"


def test_revalidation_and_head(served):
    assert served["not_modified"]["status"] == 304
    assert served["head"]["status"] == 200 and served["head"]["body"] == ""
    assert served["head"]["headers"]["Cache-Control"] == FOREVER


def test_what_is_not_collected_is_django_s_404(served):
    assert served["missing"] == 404
    assert served["media"] == 404  # no uploads in the blog: the app serves no /media/
