"""`tg.optim`: PyTorch's optimizers over the pure updates of `tg.optim.functional`."""
from . import functional  # noqa: F401
from .optimizer import Optimizer  # noqa: F401
from .optimizers import SGD, Adagrad, Adam, AdamW, RMSprop  # noqa: F401
from . import lr_scheduler  # noqa: F401,E402

from ..tracer.unsupported import module_getattr as _module_getattr  # noqa: E402

__getattr__ = _module_getattr("tapegrad.optim", "torch.optim")
