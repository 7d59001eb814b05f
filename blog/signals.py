"""Invalidate the cached sidebar whenever what it shows can change (see blog/sidebar.py).

Only for changes to this site's own database: rows that `manage.py db_copy` loads into another one
change nothing the cache (which lives in the site's database) shows, and must not write there.
"""

from django.db import DEFAULT_DB_ALIAS
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from . import sidebar
from .models import Category, Post, Tag


@receiver(post_save, sender=Post)
@receiver(post_delete, sender=Post)
@receiver(post_save, sender=Category)
@receiver(post_delete, sender=Category)
@receiver(post_save, sender=Tag)
@receiver(post_delete, sender=Tag)
def _content_changed(sender, using=DEFAULT_DB_ALIAS, **kwargs):
    if using == DEFAULT_DB_ALIAS:
        sidebar.invalidate()


@receiver(m2m_changed, sender=Post.tags.through)
def _tags_changed(sender, action, using=DEFAULT_DB_ALIAS, **kwargs):
    if action in ("post_add", "post_remove", "post_clear") and using == DEFAULT_DB_ALIAS:
        sidebar.invalidate()
