"""/floor: the framework floor, the serving benchmark's reference for what the stack itself costs.

A request to it passes through the same nginx, gunicorn worker and Django middleware as a blog page,
then returns a short constant text/plain body: no template, no query, no session. bench/serving.py
reports the index and a post as ratios to it, measured in the same run (bench/README.md says why a
view of its own rather than /healthz, which must keep its query to be a health check). It tells a
visitor nothing, so it is harmless in production.
"""

from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

BODY = "floor\n"


@never_cache
@require_http_methods(["GET", "HEAD"])
def floor(request):
    """A constant text/plain answer: the framework's own cost per request, the pages' reference."""
    return HttpResponse(BODY, content_type="text/plain; charset=utf-8")
