"""The law: rules and constitutions, proposals, votes and enactment."""
