"""`torch.autograd.anomaly_mode` (tracer/anomaly.py)."""
from ..tracer.anomaly import detect_anomaly, set_detect_anomaly

__all__ = ["detect_anomaly", "set_detect_anomaly"]
