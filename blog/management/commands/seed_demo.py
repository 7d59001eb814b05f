"""Demo content for a fresh blog. Idempotent: running it again adds nothing that is already there.

    python manage.py seed_demo              # 12 posts
    python manage.py seed_demo --posts 40

A superuser is created only when DJANGO_SUPERUSER_USERNAME, DJANGO_SUPERUSER_EMAIL and
DJANGO_SUPERUSER_PASSWORD are all set (and only if that user does not exist yet).
"""

import os
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from blog.models import Category, Comment, Post, Tag

CATEGORIES = ["Django", "Python", "Deployment", "Notes"]
TAGS = ["tutorial", "docker", "nginx", "gunicorn", "markdown", "testing", "sqlite"]
TOPICS = [
    "Deploying Django with Docker and Nginx",
    "Markdown posts with syntax highlighting",
    "A table of contents for long posts",
    "Class-based views, gently",
    "Pagination that users like",
    "Full-text-ish search with Q objects",
    "RSS feeds with the syndication framework",
    "Counting views without losing any",
    "Testing a Django blog with pytest",
    "SQLite in production: WAL and friends",
    "Gunicorn workers explained",
    "Zero-downtime deploys on one server",
]
COMMENTERS = [
    ("Ada", "ada@example.com", "Great write-up, thanks!\nThe code sample worked first time."),
    ("Linus", "linus@example.com", "Short and to the point. <b>Bold</b> stays plain text here."),
    ("Grace", "grace@example.com", "Bookmarked for my next deploy."),
]

CODE_BODY = '''\
This post walks through a small, complete example.

## Why it matters

Readers skim. A clear structure and **highlighted code** help them find what they need.

## The code

```python
from django.db.models import F

def increase_views(post):
    """Atomic: no lost updates."""
    type(post).objects.filter(pk=post.pk).update(views=F("views") + 1)
```

### Running it

```bash
pipenv run python manage.py migrate
pipenv run python manage.py runserver
```

## Summary

| Step | Command |
| --- | --- |
| migrate | `python manage.py migrate` |
| serve | `python manage.py runserver` |

> Keep it simple, then measure.
'''

PLAIN_BODY = """\
{topic} is one of those things that looks hard until you try it.

This demo post keeps it short: a paragraph of context, a [link to Django](https://www.djangoproject.com/),
and a list of what to remember:

- start small;
- write a test first;
- deploy often.
"""


class Command(BaseCommand):
    help = "Create demo categories, tags, posts and comments (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--posts", type=int, default=12, help="how many demo posts (default 12)")

    @transaction.atomic
    def handle(self, *args, posts=12, **options):
        if posts < 0:
            raise CommandError("--posts must be 0 or more")
        superuser = self.ensure_superuser()
        author = superuser or self.demo_author()

        categories = [Category.objects.get_or_create(name=name)[0] for name in CATEGORIES]
        tags = [Tag.objects.get_or_create(name=name)[0] for name in TAGS]

        now = timezone.now()
        created_posts = created_comments = 0
        for i in range(posts):
            topic = TOPICS[i % len(TOPICS)]
            title = topic if i < len(TOPICS) else f"{topic} (part {i // len(TOPICS) + 1})"
            body = CODE_BODY if i % 3 == 0 else PLAIN_BODY.format(topic=topic)
            post, created = Post.objects.get_or_create(
                title=title,
                defaults={
                    "body": body,
                    "category": categories[i % len(categories)],
                    "author": author,
                    # Spread over several months so the archive has more than one entry.
                    "created_time": now - timedelta(days=9 * i, hours=i),
                },
            )
            if created:
                created_posts += 1
                post.tags.set([tags[i % len(tags)], tags[(i * 3 + 1) % len(tags)]])
            for j, (name, email, text) in enumerate(COMMENTERS[: i % (len(COMMENTERS) + 1)]):
                _, made = Comment.objects.get_or_create(
                    post=post,
                    name=name,
                    text=text,
                    defaults={"email": email, "created_time": post.created_time + timedelta(hours=j + 1)},
                )
                created_comments += made

        self.stdout.write(
            self.style.SUCCESS(
                f"seed_demo: {created_posts} new posts, {created_comments} new comments "
                f"({Post.objects.count()} posts in total)"
            )
        )

    def demo_author(self):
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(
            username="demo", defaults={"email": "demo@example.com", "first_name": "Demo"}
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        return user

    def ensure_superuser(self):
        names = ("DJANGO_SUPERUSER_USERNAME", "DJANGO_SUPERUSER_EMAIL", "DJANGO_SUPERUSER_PASSWORD")
        values = [os.environ.get(name, "") for name in names]
        if not all(values):
            if any(values):
                missing = ", ".join(n for n, v in zip(names, values, strict=True) if not v)
                self.stdout.write(self.style.WARNING(f"no superuser created: {missing} not set"))
            return None
        username, email, password = values
        user_model = get_user_model()
        user = user_model.objects.filter(username=username).first()
        if user is None:
            user = user_model.objects.create_superuser(username=username, email=email, password=password)
            self.stdout.write(self.style.SUCCESS(f"created superuser {username!r}"))
        else:
            self.stdout.write(f"superuser {username!r} already exists: left unchanged")
        return user
