"""Record PyTorch's numbers for tests/nn/layer_cases.py (run only with /work/refvenv):

    /work/refvenv/bin/python tests/nn/data/record_layers.py

Runs every case with the real torch and writes data/layers_reference.json; the tests
run the same cases with tapegrad and compare.
"""
import json
import pathlib
import sys

import torch

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import layer_cases  # noqa: E402

results = {"torch": torch.__version__}
for case in layer_cases.LAYER_CASES + layer_cases.DATA_CASES:
    results[case.__name__] = case(torch)
path = HERE / "layers_reference.json"
path.write_text(json.dumps(results, allow_nan=False))
print("wrote", path, len(results) - 1, "cases")
