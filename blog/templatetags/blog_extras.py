from django import template
from django.utils.safestring import mark_safe

from .. import sidebar

register = template.Library()


@register.simple_tag
def show_sidebar(num_recent=5):
    """The sidebar from the cache (one query), re-rendered only after a change (blog/sidebar.py)."""
    return mark_safe(sidebar.render(num_recent))  # noqa: S308 - our own template's output, autoescaped there
