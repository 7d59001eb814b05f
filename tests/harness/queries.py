"""What a test saw the database asked: the statements that write."""

import re

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER|TRUNCATE)\b", re.IGNORECASE)


def writes(ctx) -> list[str]:
    """The SQL of the writing statements a ``CaptureQueriesContext`` captured."""
    return [q["sql"] for q in ctx.captured_queries if WRITE.match(q["sql"])]
