"""JSON API routes, one module per area."""

__all__ = [
    "activitypub",
    "atproto",
    "cases",
    "connectors",
    "jurisdictions",
    "law",
    "log",
    "log_keys",
    "meta",
    "notes",
    "notifications",
    "people",
    "platforms",
    "reports",
    "staff",
]
