"""The sidebar, rendered once per change of the blog and shared by every process and container.

The sidebar (recent posts, months, categories, tags) is the same on every page and costs four queries
and half of the index's render time. Its HTML lives in Django's cache (the database cache: every
gunicorn worker and both containers of a deploy read the same table, and a test's rollback rolls the
cache back with the data). Two entries, read together in one query:
- GENERATION_KEY: a token replaced by the save/delete signals (blog/signals.py);
- HTML_KEY: (token it was rendered under, html).
A cached sidebar is used only when its token is the current one. The signal writes the new token in
the same database transaction as the change, so no reader can see the new token with the old data;
a reader that rendered old data stores it under the old token, which no one will accept again.
"""

from __future__ import annotations

import uuid

from django.core.cache import cache
from django.db.models import Count
from django.template.loader import render_to_string

GENERATION_KEY = "blog:sidebar:generation"
HTML_KEY = "blog:sidebar:html:{num_recent}"
TEMPLATE = "blog/inclusions/_sidebar.html"


def invalidate() -> None:
    cache.set(GENERATION_KEY, uuid.uuid4().hex, timeout=None)


def context(num_recent: int = 5) -> dict:
    """Four queries whatever the size of the blog: recent posts, months, categories, tags."""
    from .models import Category, Post, Tag

    return {
        "recent_post_list": list(Post.objects.only("pk", "title", "created_time")[:num_recent]),
        "date_list": list(Post.objects.dates("created_time", "month", order="DESC")),
        "category_list": list(
            Category.objects.annotate(num_posts=Count("posts")).filter(num_posts__gt=0).order_by("name")
        ),
        "tag_list": list(Tag.objects.annotate(num_posts=Count("posts")).filter(num_posts__gt=0).order_by("name")),
    }


def render(num_recent: int = 5) -> str:
    """The sidebar's HTML: one cache query when nothing changed, else rendered and stored."""
    html_key = HTML_KEY.format(num_recent=int(num_recent))
    found = cache.get_many([GENERATION_KEY, html_key])
    generation = found.get(GENERATION_KEY)
    cached = found.get(html_key)
    if generation and cached and cached[0] == generation:
        return cached[1]
    html = render_to_string(TEMPLATE, context(num_recent))
    if generation is None:
        # first use, or the entry was lost: start a generation; if another process just did, don't cache
        generation = uuid.uuid4().hex
        if not cache.add(GENERATION_KEY, generation, timeout=None):
            return html
    cache.set(html_key, (generation, html), timeout=None)
    return html
