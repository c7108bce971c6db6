"""Data files shipped with the package (read through importlib.resources)."""

__all__: list[str] = []
