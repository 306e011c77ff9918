"""`tg.save` / `tg.load` in PyTorch's zip checkpoint format (`torch.serialization`).

format.py holds the format's names and numbers; pickler.py, writer.py and
zipwriter.py write (`torch.load(f, weights_only=True)` reads the result);
unpickler.py, rebuild.py and reader.py read what `torch.save` wrote through an
allow-list: no code from a checkpoint ever runs, whatever `weights_only` says.
"""
from ..tracer.unsupported import module_getattr as _module_getattr
from .format import CheckpointError
from .reader import load
from .writer import save

__all__ = ["CheckpointError", "load", "save"]
__getattr__ = _module_getattr("tapegrad.serialization", "torch.serialization")
