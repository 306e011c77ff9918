"""The tutorials' device probes all answer that only the CPU exists."""
import tapegrad as tg


def test_every_probe_says_cpu_only():
    assert tg.cuda.is_available() is False
    assert tg.backends.mps.is_available() is False
    assert tg.accelerator.is_available() is False
    assert tg.accelerator.current_accelerator() is None
    device = (tg.accelerator.current_accelerator().type if tg.accelerator.is_available()
              else "cpu")
    model = tg.nn.Linear(2, 1).to(device)
    assert model(tg.ones(1, 2, device=device)).shape == (1, 1)
