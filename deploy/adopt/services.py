"""Settings that need a service the stack does not run (the stack: the app under gunicorn, nginx, SQLite or
PostgreSQL): each becomes a warning that says what the user must do."""

from dataclasses import dataclass

from deploy.adopt.django_settings import DjangoSettings

DATABASES_RUN = ("sqlite3", "postgresql", "postgis")


@dataclass(frozen=True)
class Unserved:
    what: str  # the service, as the report names it
    todo: str  # what the user must do


def warnings(settings: DjangoSettings) -> list[Unserved]:
    apps = [str(app).lower() for app in settings.get("INSTALLED_APPS") or []]
    names = set(settings.get("SETTING_NAMES") or [])
    found = []

    def app(*prefixes: str) -> bool:
        return any(name == prefix or name.startswith(prefix + ".") or name.startswith(prefix + "_")
                   for name in apps for prefix in prefixes)

    if app("celery", "django_celery") or any(name.startswith("CELERY_") for name in names) or "BROKER_URL" in names:
        found.append(Unserved("Celery", "the stack runs no worker and no broker: run a broker (Redis, RabbitMQ) and "
                                       "`celery worker` yourself and set its URL in .envs/.production"))
    for backend in settings.get("CACHE_BACKENDS") or []:
        if "redis" in backend.lower() or "memcached" in backend.lower() or "pylibmc" in backend.lower():
            kind = "Redis" if "redis" in backend.lower() else "Memcached"
            found.append(Unserved(f"{kind} cache ({backend})",
                                 f"the stack runs no {kind}: point the cache's LOCATION at one you run, or use "
                                 "django.core.cache.backends.db.DatabaseCache"))
    if app("channels") or "CHANNEL_LAYERS" in names:
        found.append(Unserved("Channels", "the stack serves WSGI with gunicorn: no ASGI, no websockets, no channel "
                                         "layer; serve those yourself"))
    if app("haystack") or "HAYSTACK_CONNECTIONS" in names:
        engines = ", ".join(settings.get("HAYSTACK_ENGINES") or []) or "Haystack"
        found.append(Unserved(f"search engine ({engines})", "the stack runs no search engine: run it yourself and "
                                                           "point HAYSTACK_CONNECTIONS at it"))
    if app("django_elasticsearch_dsl") or "ELASTICSEARCH_DSL" in names:
        found.append(Unserved("Elasticsearch", "the stack runs no Elasticsearch: run it yourself and point "
                                              "ELASTICSEARCH_DSL at it"))
    if app("django_rq") or "RQ_QUEUES" in names:
        found.append(Unserved("RQ", "the stack runs no Redis and no rq worker: run them yourself"))
    if app("huey") or "HUEY" in names:
        found.append(Unserved("Huey", "the stack runs no huey consumer (nor its Redis): run them yourself"))
    if app("django_q") or "Q_CLUSTER" in names:
        found.append(Unserved("Django Q", "the stack runs no qcluster: run it yourself"))
    engine = settings.get("DATABASE_ENGINE") or ""
    if engine and not engine.rsplit(".", 1)[-1].startswith(DATABASES_RUN):
        found.append(Unserved(f"database ({engine})", "the stack runs SQLite or PostgreSQL: set DATABASE_URL in "
                                                     ".envs/.production to a postgres:// database, or run yours "
                                                     "and keep its settings"))
    return found
