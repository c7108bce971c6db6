"""What the API and the pages share: access, injectables, limits, problems."""

__all__ = [
    "access",
    "cookies",
    "credential_cache",
    "credential_events",
    "deps",
    "metrics",
    "middleware",
    "overload",
    "problem_schema",
    "problems",
    "ratelimit",
    "ratelimit_shared",
    "read_cache",
    "reauth",
    "request_log",
    "xrpc",
]
