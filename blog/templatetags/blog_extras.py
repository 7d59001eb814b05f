from django import template
from django.utils.safestring import mark_safe

from .. import sidebar

register = template.Library()


@register.simple_tag(takes_context=True)
def show_sidebar(context, num_recent=5):
    """The sidebar from the cache (one query, none if the view looked it up), re-rendered after a change."""
    prefetched = getattr(context.get("request"), "blog_cache_lookup", None)
    return mark_safe(sidebar.render(num_recent, prefetched))  # noqa: S308 - our own template's output, autoescaped there
