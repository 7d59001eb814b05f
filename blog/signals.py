"""Invalidate the cached sidebar whenever what it shows can change (see blog/sidebar.py)."""

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
def _content_changed(sender, **kwargs):
    sidebar.invalidate()


@receiver(m2m_changed, sender=Post.tags.through)
def _tags_changed(sender, action, **kwargs):
    if action in ("post_add", "post_remove", "post_clear"):
        sidebar.invalidate()
