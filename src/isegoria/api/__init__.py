"""The JSON API (FastAPI): routes and their schemas; what it shares with the pages is in http/."""

__all__ = ["operation_docs", "routes"]
