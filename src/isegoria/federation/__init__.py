"""Federation: ActivityPub inbox and delivery, AT Protocol labels."""
