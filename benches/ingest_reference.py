"""The reference for ingest-bench: what a user would write instead of canvass. The ffmpeg CLI
samples and scales the clip (fps and scale filters) into a pipe of raw RGB frames; Python
letterboxes them into the model's input, runs the same ONNX model in onnxruntime and decodes
YOLOX boxes with numpy (grid, threshold, per-class NMS).

    python ingest_reference.py CLIP MANIFEST_NAME FPS [ASSETS] [THREADS]

Prints one JSON object: frames, detections, inference_s (time in session.run alone: the
inference-only limit) and wall_s (the whole pipeline, from the first ffmpeg byte).
"""

import json
import pathlib
import subprocess
import sys
import time
import tomllib

import numpy as np
import onnxruntime as ort

repo = pathlib.Path(__file__).resolve().parent.parent
clip, model_name, fps = sys.argv[1], sys.argv[2], float(sys.argv[3])
assets = pathlib.Path(sys.argv[4] if len(sys.argv) > 4 else repo / "assets")
threads = int(sys.argv[5]) if len(sys.argv) > 5 else 0

started = time.perf_counter()
manifest = tomllib.loads((repo / "models" / f"{model_name}.toml").read_text())
spec = manifest["input"]
if manifest["output"]["format"] != "yolox":
    sys.exit("the reference decodes YOLOX outputs only")
in_w, in_h = spec["width"], spec["height"]
threshold = manifest.get("thresholds", {}).get("default", 0.35)

options = ort.SessionOptions()
options.intra_op_num_threads = threads
options.log_severity_level = 3
session = ort.InferenceSession(str(assets / "models" / manifest["file"]), options, providers=["CPUExecutionProvider"])

# Frame size after ffmpeg's scale to fit the model input (even sides, as canvass's letterbox).
probe = subprocess.run(
    ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height", "-of", "csv=p=0", clip],
    check=True, capture_output=True, text=True,
).stdout.split(",")
src_w, src_h = int(probe[0]), int(probe[1])
r = min(in_w / src_w, in_h / src_h)
fw, fh = max(2, round(src_w * r) // 2 * 2), max(2, round(src_h * r) // 2 * 2)

# The YOLOX grid: one row per anchor, (x, y, stride).
grid = np.concatenate([
    np.stack(np.meshgrid(np.arange((in_w + s - 1) // s), np.arange((in_h + s - 1) // s)), -1).reshape(-1, 2)
    for s in manifest["output"]["strides"]
]).astype(np.float32)
strides = np.concatenate([
    np.full(((in_w + s - 1) // s) * ((in_h + s - 1) // s), s, np.float32) for s in manifest["output"]["strides"]
])


def nms(boxes, scores, iou=0.45):
    order = scores.argsort()[::-1]
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        xx1 = np.maximum(boxes[i, 0], boxes[order[1:], 0])
        yy1 = np.maximum(boxes[i, 1], boxes[order[1:], 1])
        xx2 = np.minimum(boxes[i, 2], boxes[order[1:], 2])
        yy2 = np.minimum(boxes[i, 3], boxes[order[1:], 3])
        inter = np.clip(xx2 - xx1, 0, None) * np.clip(yy2 - yy1, 0, None)
        area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
        overlap = inter / (area(boxes[i]) + area(boxes[order[1:]]) - inter + 1e-9)
        order = order[1:][overlap <= iou]
    return keep


ffmpeg = subprocess.Popen(
    ["ffmpeg", "-v", "error", "-threads", "0", "-i", clip, "-vf", f"fps={fps},scale={fw}:{fh}",
     "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
    stdout=subprocess.PIPE,
)
frame_bytes = fw * fh * 3
colour = [2, 1, 0] if spec["colour_order"] == "bgr" else [0, 1, 2]
mean = np.array(spec["mean"], np.float32).reshape(3, 1, 1)
std = np.array(spec["std"], np.float32).reshape(3, 1, 1)
frames = detections = 0
inference_s = 0.0
while True:
    raw = ffmpeg.stdout.read(frame_bytes)
    if len(raw) < frame_bytes:
        break
    rgb = np.frombuffer(raw, np.uint8).reshape(fh, fw, 3)
    tensor = np.full((1, 3, in_h, in_w), spec["pad_value"], np.float32)
    tensor[0, :, :fh, :fw] = rgb[:, :, colour].transpose(2, 0, 1)
    tensor = (tensor * spec["scale"] - mean) / std
    t = time.perf_counter()
    (out,) = session.run(None, {spec["name"]: tensor})
    inference_s += time.perf_counter() - t
    out = out[0]
    scores = out[:, 4:5] * out[:, 5:]
    cls = scores.argmax(1)
    best = scores[np.arange(len(cls)), cls]
    keep = best >= threshold
    if keep.any():
        xy = (out[keep, :2] + grid[keep]) * strides[keep, None]
        wh = np.exp(out[keep, 2:4]) * strides[keep, None]
        boxes = np.concatenate([xy - wh / 2, xy + wh / 2], 1) / r
        for c in np.unique(cls[keep]):
            mask = cls[keep] == c
            detections += len(nms(boxes[mask], best[keep][mask]))
    frames += 1
ffmpeg.wait()
print(json.dumps({"frames": frames, "detections": detections, "inference_s": inference_s,
                  "wall_s": time.perf_counter() - started}))
