"""Categories and tags in one order on SQLite and PostgreSQL: case ignored, then by id (blog.models.NAME_ORDER)."""

import re

import pytest

from blog.models import Category, Tag

pytestmark = pytest.mark.django_db

# by bytes (SQLite's order for `name`): Banana, Django, apple, cherry, docker; by an en_US collation: apple,
# Banana, cherry, Django, docker. Ignoring case, both backends agree, whatever the database's collation.
NAMES = ["docker", "Banana", "cherry", "apple", "Django"]
ORDER = ["apple", "Banana", "cherry", "Django", "docker"]


def test_the_models_order():
    for name in NAMES:
        Category.objects.create(name=name)
        Tag.objects.create(name=name)
    assert [c.name for c in Category.objects.filter(name__in=NAMES)] == ORDER
    assert [t.name for t in Tag.objects.filter(name__in=NAMES)] == ORDER


def test_the_sidebar_order(client, make_post):
    for name in NAMES:
        make_post(title=f"about {name}", category=Category.objects.create(name=f"{name}-c"),
                  tags=[Tag.objects.create(name=name)])
    html = client.get("/").content.decode()
    categories = html.split('class="widget widget-categories"')[1].split("</ul>")[0]
    tags = html.split('class="widget widget-tags"')[1].split("</ul>")[0]
    assert re.findall(r">([A-Za-z]+)-c</a>", categories) == ORDER
    assert re.findall(r'class="tag" href="[^"]+">([A-Za-z]+) <span', tags) == ORDER


def test_names_equal_but_for_case_keep_their_ids_order():
    upper = Tag.objects.create(name="Python")
    lower = Tag.objects.create(name="python")
    assert list(Tag.objects.filter(name__iexact="python")) == [upper, lower]
