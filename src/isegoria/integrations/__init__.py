"""Adapters to the outside world, free of the database: webhooks, Matrix, Mastodon,
ActivityPub, AT Protocol, DSA exports, Community Notes data files, guarded egress.
"""

__all__ = [
    "activitypub",
    "ap_fetch",
    "atproto_labels",
    "community_notes_run",
    "community_notes_tsv",
    "community_notes_tsv_columnar",
    "dsa",
    "dsa_schema",
    "egress",
    "federation_identity",
    "mastodon",
    "matrix",
    "matrix_client",
    "matrix_mapping",
    "matrix_snapshot",
    "webhooks",
]
