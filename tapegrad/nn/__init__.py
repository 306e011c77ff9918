"""`tg.nn`: Modules, Parameters, layers, activations, losses, `init`, `utils` and `functional`."""
from . import functional, init, utils  # noqa: F401
from .parameter import Buffer, Parameter  # noqa: F401
from .module import Module  # noqa: F401
from .container import ModuleDict, ModuleList, Sequential  # noqa: F401
from .linear import Bilinear, Identity, Linear  # noqa: F401
from .basic import Dropout, Flatten, Unflatten  # noqa: F401
from .normalization import BatchNorm1d, LayerNorm  # noqa: F401
from .sparse import Embedding  # noqa: F401
from .activation import (  # noqa: F401
    ELU, GELU, LeakyReLU, LogSoftmax, ReLU, SiLU, Sigmoid, Softmax, Softplus, Tanh)
from .loss import (  # noqa: F401
    BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss, MSELoss,
    NLLLoss, SmoothL1Loss)

from ..tracer.unsupported import module_getattr as _module_getattr  # noqa: E402

__getattr__ = _module_getattr("tapegrad.nn", "torch.nn")
