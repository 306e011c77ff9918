"""`tg.backends`: the probes tutorials use to pick a device; only the CPU exists."""
from . import mps  # noqa: F401
