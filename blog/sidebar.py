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

from deploy.djangoapp import readonly

GENERATION_KEY = "blog:sidebar:generation"
HTML_KEY = "blog:sidebar:html:{num_recent}"
TEMPLATE = "blog/inclusions/_sidebar.html"


def invalidate() -> None:
    cache.set(GENERATION_KEY, uuid.uuid4().hex, timeout=None)


def context(num_recent: int = 5) -> dict:
    """Four queries whatever the size of the blog: recent posts, months, categories, tags."""
    from .models import NAME_ORDER, Category, Post, Tag

    return {
        "recent_post_list": list(Post.objects.only("pk", "title", "created_time")[:num_recent]),
        "date_list": list(Post.objects.dates("created_time", "month", order="DESC")),
        "category_list": list(
            Category.objects.annotate(num_posts=Count("posts")).filter(num_posts__gt=0).order_by(*NAME_ORDER)
        ),
        "tag_list": list(Tag.objects.annotate(num_posts=Count("posts")).filter(num_posts__gt=0).order_by(*NAME_ORDER)),
    }


class Lookup:
    """One cache read for a whole page: the generation, the sidebar and the page's own fragments.

    A view calls lookup() before it queries what a generation-checked fragment shows (as render()
    does), then get()/get_current() and store(); show_sidebar finds the sidebar here, no second query.
    """

    def __init__(self, keys, found):
        self.keys = set(keys)
        self.found = found
        self.generation = found.get(GENERATION_KEY)

    def get(self, key):
        """A fragment keyed by its content (the key changes with what it shows): any stored value."""
        return self.found.get(key)

    def get_current(self, key):
        """A fragment that depends on more than its key: only if stored under the current generation."""
        value = self.found.get(key)
        if value and self.generation and value[0] == self.generation:
            return value[1]
        return None

    def store(self, plain=None, current=None) -> None:
        """Store content-keyed fragments as they are, the others with the generation read by lookup().

        Nothing while the blog is read-only (deploy/djangoapp/readonly.py): the page is rendered, not kept.
        """
        if readonly.active():
            return
        items = dict(plain or {})
        if current:
            generation = self.generation or _start_generation()
            if generation:
                items.update({key: (generation, value) for key, value in current.items()})
        if items:
            cache.set_many(items, timeout=None)


def _start_generation():
    """First use, or the entry was lost: start a generation; None if another process just did."""
    generation = uuid.uuid4().hex
    return generation if cache.add(GENERATION_KEY, generation, timeout=None) else None


def lookup(request, keys=(), num_recent: int = 5) -> Lookup:
    """Read the generation, the sidebar and `keys` in one query; the sidebar tag of this request uses it."""
    keys = [GENERATION_KEY, HTML_KEY.format(num_recent=int(num_recent)), *keys]
    result = Lookup(keys, cache.get_many(keys))
    request.blog_cache_lookup = result
    return result


def render(num_recent: int = 5, prefetched: Lookup | None = None) -> str:
    """The sidebar's HTML: one cache query when nothing changed (none if prefetched), else rendered and stored."""
    html_key = HTML_KEY.format(num_recent=int(num_recent))
    if prefetched is not None and html_key in prefetched.keys:
        found = prefetched.found
    else:
        found = cache.get_many([GENERATION_KEY, html_key])
    generation = found.get(GENERATION_KEY)
    cached = found.get(html_key)
    if generation and cached and cached[0] == generation:
        return cached[1]
    html = render_to_string(TEMPLATE, context(num_recent))
    if readonly.active():
        return html  # rendered, not kept: a read-only request writes nothing
    if generation is None:
        # first use, or the entry was lost: start a generation; if another process just did, don't cache
        generation = uuid.uuid4().hex
        if not cache.add(GENERATION_KEY, generation, timeout=None):
            return html
    cache.set(html_key, (generation, html), timeout=None)
    return html
