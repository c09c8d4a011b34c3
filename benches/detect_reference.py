"""The reference for detect-bench: the same models in Python onnxruntime, on the very same
input tensors detect-bench wrote to target/bench-inputs/, timing session.run alone."""

import pathlib
import statistics
import sys
import time
import tomllib

import numpy as np
import onnxruntime as ort

repo = pathlib.Path(__file__).resolve().parent.parent
assets = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else repo / "assets")
threads = int(sys.argv[2]) if len(sys.argv) > 2 else 0

print(f"onnxruntime {ort.__version__} (Python), intra-op threads: {threads or 'all cores'}")
print("| model | inference ms/frame (median) |")
print("|---|---|")
for name in ["yolox_nano_coco", "picodet_s_416_coco", "arcis_ultralight_weapons_256"]:
    manifest = tomllib.loads((repo / "models" / f"{name}.toml").read_text())
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    session = ort.InferenceSession(str(assets / "models" / manifest["file"]), options, providers=["CPUExecutionProvider"])
    shape = (1, 3, manifest["input"]["height"], manifest["input"]["width"])
    tensors = np.fromfile(repo / "target" / "bench-inputs" / f"{name}.f32", dtype="<f4").reshape((-1,) + shape)
    feed = manifest["input"]["name"]
    session.run(None, {feed: tensors[0]})
    times = []
    for t in tensors:
        started = time.perf_counter()
        session.run(None, {feed: t})
        times.append((time.perf_counter() - started) * 1e3)
    print(f"| {name} | {statistics.median(times):.1f} |")
