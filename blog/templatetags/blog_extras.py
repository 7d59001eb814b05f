from django import template
from django.db.models import Count

from ..models import Category, Post, Tag

register = template.Library()


@register.inclusion_tag("blog/inclusions/_sidebar.html")
def show_sidebar(num_recent=5):
    """Four queries whatever the size of the blog: recent posts, months, categories, tags."""
    return {
        "recent_post_list": list(Post.objects.only("pk", "title", "created_time")[:num_recent]),
        "date_list": list(Post.objects.dates("created_time", "month", order="DESC")),
        "category_list": list(
            Category.objects.annotate(num_posts=Count("posts")).filter(num_posts__gt=0).order_by("name")
        ),
        "tag_list": list(Tag.objects.annotate(num_posts=Count("posts")).filter(num_posts__gt=0).order_by("name")),
    }
