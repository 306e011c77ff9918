"""Record the checkpoint round trips against PyTorch (run by hand; torch is no test dependency).

    /work/refvenv/bin/python tests/serialization/record_torch_checkpoints.py \
        [--tapegrad-python .venv/bin/python]

With PyTorch it writes small .pt files into data/torch/ (a seeded nn.Sequential's
state_dict, tensors of every dtype tapegrad has, non-contiguous views of a larger
storage, nested containers, an Adam state_dict, a protocol-4 pickle, and the
legacy and TorchScript formats tapegrad refuses). It then runs itself under
tapegrad's interpreter (`--write-tapegrad DIR`) to write data/tapegrad/ with
`tg.save`, loads those files with `torch.load(weights_only=True)` and loads the
tapegrad model's state_dict into PyTorch's module. Everything PyTorch sees goes
to data/expected.json, which the tests compare tapegrad's view against.
"""
import argparse
import json
import os
import subprocess
import sys
from collections import OrderedDict

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
sys.path.insert(0, HERE)

import cases  # noqa: E402
from describe import describe, sharing  # noqa: E402


def write_tapegrad(folder: str) -> None:
    """Under tapegrad's interpreter: tg.save each case, and the tapegrad model's output."""
    import tapegrad as tg

    os.makedirs(folder, exist_ok=True)
    for name in cases.TAPEGRAD_CASES:
        tg.save(cases.tapegrad_case(tg, name), os.path.join(folder, name + ".pt"))


def torch_storage_key(t):
    return t.untyped_storage().data_ptr() or id(t)


def torch_cases(torch) -> dict:
    torch.manual_seed(cases.MODEL_SEED)
    model = cases.make_model(torch.nn)
    base = torch.arange(24.0).reshape(4, 6)
    big = torch.arange(30, dtype=torch.float64).reshape(5, 6)
    views = OrderedDict([("base", base), ("strided", base[1:, ::2]), ("transposed", base.t()),
                         ("offset", base[2])])
    leaf = torch.tensor([0.5, 1.5], requires_grad=True)
    nested = {
        "list": [torch.ones(2, 2), 1, 2.5, "text", None, True],
        "tuple": (torch.tensor([1, 2]), (1, 2), ()),
        "dict": {"a": {"b": torch.tensor([7, 8], dtype=torch.int32)}, 3: "int key"},
        "ints": [2 ** 40, -5, -2 ** 70, 300, 70000],
        "bytes": b"abc\x00\xff",
        "param": torch.nn.Parameter(torch.tensor([1.0, -1.0])),
        "frozen": torch.nn.Parameter(torch.tensor([2.0]), requires_grad=False),
        "leaf": leaf,
        "same tensor twice": [leaf, leaf],
        "set": {1, 2, 3},
        "complex": 1 + 2j,
        "scalar": torch.tensor(3.5),
        "empty": torch.zeros(0, 3),
        "size": torch.Size([2, 3]),
        "dtype": torch.float16,
    }
    x = torch.tensor(cases.MODEL_INPUT)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    model(x).sum().backward()
    opt.step()
    torch.manual_seed(cases.MODEL_SEED)
    return {
        "torch_sequential": cases.make_model(torch.nn).state_dict(),
        "torch_dtypes": cases.dtype_tensors(torch),
        "torch_views": views,
        "torch_view_alone": {"view": big[1:4, 1::2], "column": big[:, 3]},
        "torch_nested": nested,
        "torch_adam": opt.state_dict(),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write-tapegrad", metavar="DIR")
    parser.add_argument("--tapegrad-python",
                        default=os.path.join(HERE, "..", "..", ".venv", "bin", "python"))
    args = parser.parse_args()
    if args.write_tapegrad:
        write_tapegrad(args.write_tapegrad)
        return

    import torch

    expected = {"torch": torch.__version__, "torch_files": {}, "tapegrad_files": {}}
    torch_dir, tg_dir = os.path.join(DATA, "torch"), os.path.join(DATA, "tapegrad")
    os.makedirs(torch_dir, exist_ok=True)
    for name, obj in torch_cases(torch).items():
        path = os.path.join(torch_dir, name + ".pt")
        torch.save(obj, path)
        back = torch.load(path, weights_only=True)  # what PyTorch itself reads back
        expected["torch_files"][name] = {"describe": describe(back, torch_storage_key),
                                         "sharing": sharing(back, torch_storage_key)}
    torch.save(torch_cases(torch)["torch_nested"], os.path.join(torch_dir, "torch_protocol4.pt"),
               pickle_protocol=4)
    torch.save({"w": torch.ones(2)}, os.path.join(torch_dir, "torch_legacy.pt"),
               _use_new_zipfile_serialization=False)
    torch.save(torch.nn.Linear(2, 2), os.path.join(torch_dir, "torch_whole_module.pt"))
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)),
                   os.path.join(torch_dir, "torch_script.pt"))

    x = torch.tensor(cases.MODEL_INPUT)
    torch.manual_seed(cases.MODEL_SEED)
    with torch.no_grad():
        expected["torch_sequential_output"] = cases.make_model(torch.nn)(x).tolist()

    env = dict(os.environ, TAPEGRAD_CACHE_DIR=os.environ.get("TAPEGRAD_CACHE_DIR",
                                                             "/tmp/tgcache-record"))
    subprocess.run([args.tapegrad_python, __file__, "--write-tapegrad", tg_dir], check=True,
                   env=env)
    from torch.utils.serialization import config

    # PyTorch's own consistency checks of the zip layout (where each storage's bytes start)
    os.environ["TORCH_SERIALIZATION_DEBUG"] = "1"
    for fname in sorted(os.listdir(tg_dir)):
        name, path = fname[:-3], os.path.join(tg_dir, fname)
        back = torch.load(path, weights_only=True)
        seen = describe(back, torch_storage_key)
        config.load.calculate_storage_offsets = True  # offsets computed, not looked up
        for mmap in (False, True):
            again = torch.load(path, weights_only=True, mmap=mmap)
            if describe(again, torch_storage_key) != seen:
                raise SystemExit(f"{fname}: torch.load(mmap={mmap}) with computed storage "
                                 "offsets reads other values")
        config.load.calculate_storage_offsets = False
        expected["tapegrad_files"][name] = {"describe": seen,
                                            "sharing": sharing(back, torch_storage_key),
                                            "same with mmap and computed offsets": True}
    model = cases.make_model(torch.nn)
    model.load_state_dict(torch.load(os.path.join(tg_dir, "tg_model.pt"), weights_only=True))
    with torch.no_grad():
        expected["tg_model_output_in_torch"] = model(x).tolist()
    # resume training in PyTorch from tapegrad's checkpoint of the model and Adam
    resume = torch.load(os.path.join(tg_dir, "tg_resume.pt"), weights_only=True)
    model = cases.make_model(torch.nn)
    model.load_state_dict(resume["model"])
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    optimizer.load_state_dict(resume["optimizer"])
    cases.resume_step(torch, model, optimizer)
    expected["tg_resume_next_step_in_torch"] = {
        k: v.tolist() for k, v in model.state_dict().items()}

    with open(os.path.join(DATA, "expected.json"), "w") as f:
        json.dump(expected, f, sort_keys=True)  # one line: the large lists stay small
        f.write("\n")
    print("recorded", len(expected["torch_files"]), "PyTorch files and",
          len(expected["tapegrad_files"]), "tapegrad files under", DATA)


if __name__ == "__main__":
    main()
