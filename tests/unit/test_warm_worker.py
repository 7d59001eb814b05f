"""compose/production/django/warm_worker.py: each gunicorn worker's own first GET /, before traffic."""

import importlib.util
from pathlib import Path

DJANGO = Path(__file__).resolve().parents[2] / "compose/production/django"
spec = importlib.util.spec_from_file_location("warm_worker", DJANGO / "warm_worker.py")
warm_worker = importlib.util.module_from_spec(spec)
spec.loader.exec_module(warm_worker)


def test_the_host_is_one_allowed_hosts_accepts():
    assert warm_worker.site_host(["blog.example", "www.blog.example"]) == "blog.example"
    assert warm_worker.site_host([".blog.example"]) == "blog.example"
    assert warm_worker.site_host(["*"]) == "localhost"
    assert warm_worker.site_host([]) == "localhost"


class App:
    def __init__(self, fail=False):
        self.fail, self.seen, self.closed = fail, None, False

    def __call__(self, environ, start_response):
        self.seen = environ
        if self.fail:
            raise RuntimeError("boom")
        start_response("200 OK", [("Content-Type", "text/html")])
        return self

    def __iter__(self):
        yield b"<html>"

    def close(self):
        self.closed = True


def test_it_asks_for_the_home_page_as_the_site_over_https():
    app = App()
    assert warm_worker.first_request(app, "blog.example") == "200 OK"
    seen = app.seen
    assert (seen["REQUEST_METHOD"], seen["PATH_INFO"], seen["HTTP_HOST"]) == ("GET", "/", "blog.example")
    # a site that forces https would answer a plain http request with a redirect, not its page
    assert seen["wsgi.url_scheme"] == "https" and seen["HTTP_X_FORWARDED_PROTO"] == "https"
    assert app.closed  # the response is closed, as a server closes it (Django's request_finished)


def test_an_app_that_raises_never_stops_the_worker():
    assert warm_worker.first_request(App(fail=True), "blog.example") == "RuntimeError('boom')"


def test_gunicorn_calls_it_after_loading_the_app():
    conf = (DJANGO / "gunicorn.conf.py").read_text()
    assert "def post_worker_init(worker):" in conf
    assert "warm_worker.first_request(worker.wsgi, warm_worker.site_host(settings.ALLOWED_HOSTS))" in conf
