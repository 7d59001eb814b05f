from django.conf import settings
from django.contrib.syndication.views import Feed
from django.utils.feedgenerator import Rss201rev2Feed

from .models import Post


class AllPostsRssFeed(Feed):
    """RSS 2.0 at /all/rss/ (the tutorial's URL, so old subscribers keep working)."""

    feed_type = Rss201rev2Feed
    title = "HelloDjango blog"
    link = "/"
    description = "The latest posts of the HelloDjango blog."

    def items(self):
        return Post.objects.select_related("category", "author")[: settings.BLOG_FEED_SIZE]

    def item_title(self, item):
        return f"[{item.category}] {item.title}"

    def item_description(self, item):
        return item.excerpt

    def item_pubdate(self, item):
        return item.created_time

    def item_updateddate(self, item):
        return item.modified_time

    def item_author_name(self, item):
        return item.author.get_username()

    def item_categories(self, item):
        return [item.category.name]
