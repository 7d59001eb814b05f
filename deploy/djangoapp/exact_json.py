"""A JSON fixture format that keeps every digit: Django's `json` cuts datetimes to milliseconds.

DjangoJSONEncoder writes 2026-01-02T03:04:05.123 for 03:04:05.123456, so a dumpdata/loaddata round
trip changes every timestamp, which db_copy's fingerprints catch. This format writes datetimes and
times with isoformat() (microseconds and offset kept) and reads like `json`. db_copy registers it as
FORMAT for its own dump only.
"""

import datetime

from django.core.serializers import json as django_json

FORMAT = "jsonexact"


class ExactEncoder(django_json.DjangoJSONEncoder):
    def default(self, o):
        if isinstance(o, datetime.datetime | datetime.time):
            return o.isoformat()
        return super().default(o)


class Serializer(django_json.Serializer):
    def _init_options(self):
        super()._init_options()
        self.json_kwargs["cls"] = ExactEncoder


Deserializer = django_json.Deserializer
