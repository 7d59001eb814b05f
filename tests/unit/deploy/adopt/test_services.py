"""deploy/adopt/services.py: settings that need a service the stack does not run become warnings."""

import pytest

from deploy.adopt.django_settings import DjangoSettings
from deploy.adopt.services import warnings

PLAIN = {"INSTALLED_APPS": ["django.contrib.admin", "django.contrib.staticfiles"], "SETTING_NAMES": ["SECRET_KEY"],
         "CACHE_BACKENDS": ["django.core.cache.backends.locmem.LocMemCache"],
         "DATABASE_ENGINE": "django.db.backends.sqlite3"}


def settings(**facts) -> DjangoSettings:
    return DjangoSettings("site.settings", "5.2", (5, 2), {**PLAIN, **facts})


def test_a_plain_project_needs_nothing_else():
    assert warnings(settings()) == []
    assert warnings(settings(DATABASE_ENGINE="django.contrib.gis.db.backends.postgis")) == []
    assert warnings(settings(CACHE_BACKENDS=["django.core.cache.backends.db.DatabaseCache"])) == []


@pytest.mark.parametrize(("facts", "what"), [
    ({"INSTALLED_APPS": ["django_celery_beat"]}, "Celery"),
    ({"SETTING_NAMES": ["CELERY_BROKER_URL"]}, "Celery"),
    ({"SETTING_NAMES": ["BROKER_URL"]}, "Celery"),
    ({"CACHE_BACKENDS": ["django_redis.cache.RedisCache"]}, "Redis cache (django_redis.cache.RedisCache)"),
    ({"CACHE_BACKENDS": ["django.core.cache.backends.redis.RedisCache"]},
     "Redis cache (django.core.cache.backends.redis.RedisCache)"),
    ({"CACHE_BACKENDS": ["django.core.cache.backends.memcached.PyMemcacheCache"]},
     "Memcached cache (django.core.cache.backends.memcached.PyMemcacheCache)"),
    ({"INSTALLED_APPS": ["channels"]}, "Channels"),
    ({"SETTING_NAMES": ["CHANNEL_LAYERS"]}, "Channels"),
    ({"INSTALLED_APPS": ["haystack"], "HAYSTACK_ENGINES": ["haystack.backends.solr_backend.SolrEngine"]},
     "search engine (haystack.backends.solr_backend.SolrEngine)"),
    ({"INSTALLED_APPS": ["django_elasticsearch_dsl"]}, "Elasticsearch"),
    ({"INSTALLED_APPS": ["django_rq"]}, "RQ"),
    ({"INSTALLED_APPS": ["huey.contrib.djhuey"]}, "Huey"),
    ({"SETTING_NAMES": ["Q_CLUSTER"]}, "Django Q"),
    ({"DATABASE_ENGINE": "django.db.backends.mysql"}, "database (django.db.backends.mysql)"),
])
def test_each_service_we_do_not_run(facts, what):
    (found,) = warnings(settings(**facts))
    assert found.what == what
    assert found.todo.startswith("the stack runs") or found.todo.startswith("the stack serves")


def test_an_app_is_matched_by_its_name_not_by_a_longer_one_that_starts_alike():
    assert warnings(settings(INSTALLED_APPS=["channelsmith", "celeryish"])) == []


def test_celery_s_warning_says_what_to_do():
    (found,) = warnings(settings(SETTING_NAMES=["CELERY_BROKER_URL"]))
    assert found.todo == ("the stack runs no worker and no broker: run a broker (Redis, RabbitMQ) and `celery worker` "
                          "yourself and set its URL in .envs/.production")
