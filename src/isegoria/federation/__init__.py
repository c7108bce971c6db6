"""Federation: ActivityPub inbox and delivery, AT Protocol labels."""

__all__ = ["activitypub_delivery", "activitypub_inbox", "atproto_labeler", "decisions"]
