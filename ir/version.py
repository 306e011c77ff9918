"""tapegrad's version, on the lowest floor so every part can read it (the disk cache
keys compiled code by it); pyproject.toml reads it from here, and `tg.__version__`
re-exports it."""
__version__ = "0.1.0"
