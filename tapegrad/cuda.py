"""`tg.cuda`: tapegrad runs on the CPU only; tutorials that ask get a clear no."""


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0
