"""`tg.accelerator`: PyTorch's device-agnostic probes; tapegrad has no accelerator, so
`device = tg.accelerator.current_accelerator() or "cpu"` style code picks the CPU."""


def is_available() -> bool:
    return False


def current_accelerator(check_available: bool = False):
    return None


def device_count() -> int:
    return 0
