#!/usr/bin/env python3
"""Independent reference check of canvass's evaluation numbers (Python standard library only).

    python3 scripts/eval_check.py --gt tests/eval/instances.json --predictions preds.json \
        [--canvass report.json] [--json out.json]
    python3 scripts/eval_check.py --self-test

--gt           COCO instances file: images [{id, file_name, width, height}], categories
               [{id, name}], annotations [{id, image_id, category_id, bbox: [x, y, w, h], iscrowd}].
--predictions  JSON list of {"image_id": int, "class": "<canvass class name>",
               "bbox": [x, y, w, h] (pixels), "score": float}.
--canvass      canvass's own report, {"classes": {"car": {"labelled": N, "detected": D,
               "true_positives": T, ...}, ...}, ...}: compared class by class; exit 1 if any
               class's labelled or detected count differs at all, or its true positives differ by
               more than 1 (a score or IoU tie may break the other way); otherwise says "agrees".
--json         also write this script's numbers, in the report's {"classes": {...}} shape.

Per class name, independently of the other classes:
  labelled        ground-truth boxes of the class
  detected        predictions of the class
  true_positives  per image: the class's predictions by score, highest first (ties: file
                  order), each matched to the still-unmatched ground-truth box of the class with
                  the highest IoU (ties: the first in the file), if that IoU >= 0.5; unmatched
                  predictions are false positives (a second detection of a matched box included)
  recall = tp / labelled (null when labelled is 0); precision = tp / detected (null when 0).
IoU is on continuous coordinates (COCO, pycocotools): a box covers [x, x + w) x [y, y + h); no +1.
A prediction's class is compared with the category name verbatim: no class is merged with
another (a "truck" prediction never matches a "pickup" box).

Exit status: 0 computed (and agrees, with --canvass); 1 disagrees with --canvass; 2 bad input.
"""

import argparse
import json
import math
import sys

IOU_THRESHOLD = 0.5
TP_TOLERANCE = 1


class InputError(Exception):
    pass


def iou(a, b):
    """IoU of two [x, y, w, h] boxes on continuous coordinates (COCO's definition)."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = min(ax + aw, bx + bw) - max(ax, bx)
    ih = min(ay + ah, by + bh) - max(ay, by)
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def _number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _bbox(v, where):
    if not (isinstance(v, list) and len(v) == 4 and all(_number(x) for x in v)):
        raise InputError(f"{where}: bbox must be [x, y, w, h] numbers, got {v!r}")
    if v[2] < 0 or v[3] < 0:
        raise InputError(f"{where}: bbox has a negative width or height: {v!r}")
    return [float(x) for x in v]


def _int(v, what, where):
    if not isinstance(v, int) or isinstance(v, bool):
        raise InputError(f"{where}: {what} must be an integer, got {v!r}")
    return v


def load_gt(doc):
    """COCO instances -> (image ids, category names in file order, [(image_id, class, bbox)])."""
    if not isinstance(doc, dict):
        raise InputError("ground truth: not a JSON object")
    for key in ("images", "categories", "annotations"):
        if not isinstance(doc.get(key), list):
            raise InputError(f"ground truth: '{key}' missing or not a list")
    images = set()
    for i, im in enumerate(doc["images"]):
        image_id = _int(im.get("id") if isinstance(im, dict) else None, "id", f"ground truth images[{i}]")
        if image_id in images:
            raise InputError(f"ground truth: image id {image_id} appears twice")
        images.add(image_id)
    names = {}
    for i, cat in enumerate(doc["categories"]):
        where = f"ground truth categories[{i}]"
        if not isinstance(cat, dict):
            raise InputError(f"{where}: not an object")
        cat_id = _int(cat.get("id"), "id", where)
        name = cat.get("name")
        if not isinstance(name, str) or not name:
            raise InputError(f"{where}: name must be a non-empty string")
        if cat_id in names:
            raise InputError(f"ground truth: category id {cat_id} appears twice")
        if name in names.values():
            raise InputError(f"ground truth: category name '{name}' appears twice")
        names[cat_id] = name
    boxes = []
    for i, ann in enumerate(doc["annotations"]):
        where = f"ground truth annotations[{i}]"
        if not isinstance(ann, dict):
            raise InputError(f"{where}: not an object")
        image_id = _int(ann.get("image_id"), "image_id", where)
        cat_id = _int(ann.get("category_id"), "category_id", where)
        if image_id not in images:
            raise InputError(f"{where}: image_id {image_id} is not in 'images'")
        if cat_id not in names:
            raise InputError(f"{where}: category_id {cat_id} is not in 'categories'")
        if ann.get("iscrowd", 0):
            raise InputError(f"{where}: iscrowd annotations are not supported by this check")
        boxes.append((image_id, names[cat_id], _bbox(ann.get("bbox"), where)))
    return images, list(names.values()), boxes


def load_predictions(doc, images):
    """Predictions list -> [(image_id, class, bbox, score)] in file order."""
    if not isinstance(doc, list):
        raise InputError("predictions: not a JSON list")
    preds = []
    for i, p in enumerate(doc):
        where = f"predictions[{i}]"
        if not isinstance(p, dict):
            raise InputError(f"{where}: not an object")
        image_id = _int(p.get("image_id"), "image_id", where)
        if image_id not in images:
            raise InputError(f"{where}: image_id {image_id} is not in the ground truth's images")
        cls = p.get("class")
        if not isinstance(cls, str) or not cls:
            raise InputError(f"{where}: class must be a non-empty string")
        score = p.get("score")
        if not _number(score):
            raise InputError(f"{where}: score must be a number, got {score!r}")
        preds.append((image_id, cls, _bbox(p.get("bbox"), where), float(score)))
    return preds


def evaluate(gt_boxes, preds, class_order=()):
    """Per-class counts: {class: {labelled, detected, true_positives, recall, precision}}."""
    gt_by = {}
    for image_id, cls, box in gt_boxes:
        gt_by.setdefault((image_id, cls), []).append(box)
    pred_by = {}
    for index, (image_id, cls, box, score) in enumerate(preds):
        pred_by.setdefault((image_id, cls), []).append((score, index, box))

    classes = list(dict.fromkeys(list(class_order) + sorted({c for _, c in gt_by} | {c for _, c in pred_by})))
    out = {c: {"labelled": 0, "detected": 0, "true_positives": 0} for c in classes}
    for (_, cls), boxes in gt_by.items():
        out[cls]["labelled"] += len(boxes)
    for key, group in pred_by.items():
        cls = key[1]
        out[cls]["detected"] += len(group)
        truth = gt_by.get(key, [])
        matched = [False] * len(truth)
        # Highest score first; equal scores keep file order (index ascending).
        for _, _, box in sorted(group, key=lambda t: (-t[0], t[1])):
            best, best_iou = None, IOU_THRESHOLD
            for j, g in enumerate(truth):
                if matched[j]:
                    continue
                v = iou(box, g)
                if v >= best_iou and (best is None or v > best_iou):
                    best, best_iou = j, v
            if best is not None:
                matched[best] = True
                out[cls]["true_positives"] += 1
    for row in out.values():
        row["recall"] = row["true_positives"] / row["labelled"] if row["labelled"] else None
        row["precision"] = row["true_positives"] / row["detected"] if row["detected"] else None
    return out


def table(result):
    def ratio(v):
        return "-" if v is None else f"{v:.3f}"

    width = max([len("class")] + [len(c) for c in result])
    lines = [f"{'class':<{width}}  labelled  detected  true_pos  recall  precision"]
    for cls, r in result.items():
        lines.append(
            f"{cls:<{width}}  {r['labelled']:>8}  {r['detected']:>8}  {r['true_positives']:>8}  "
            f"{ratio(r['recall']):>6}  {ratio(r['precision']):>9}"
        )
    labelled = sum(r["labelled"] for r in result.values())
    detected = sum(r["detected"] for r in result.values())
    tp = sum(r["true_positives"] for r in result.values())
    lines.append(
        f"{'(all)':<{width}}  {labelled:>8}  {detected:>8}  {tp:>8}  "
        f"{ratio(tp / labelled if labelled else None):>6}  {ratio(tp / detected if detected else None):>9}"
    )
    return "\n".join(lines)


def compare(result, report):
    """Differences between this script's numbers and canvass's report (empty list: agrees).

    A class missing from one side counts as all zeros there."""
    if not isinstance(report, dict) or not isinstance(report.get("classes"), dict):
        raise InputError("canvass report: no 'classes' object")
    theirs = report["classes"]
    diffs = []
    for cls in list(dict.fromkeys(list(result) + sorted(theirs))):
        mine = result.get(cls, {"labelled": 0, "detected": 0, "true_positives": 0})
        other = theirs.get(cls, {})
        if not isinstance(other, dict):
            raise InputError(f"canvass report: classes.{cls} is not an object")
        for key in ("labelled", "detected", "true_positives"):
            v = other.get(key, 0)
            if not isinstance(v, int) or isinstance(v, bool):
                raise InputError(f"canvass report: classes.{cls}.{key} is not an integer: {v!r}")
            allowed = TP_TOLERANCE if key == "true_positives" else 0
            if abs(v - mine[key]) > allowed:
                diffs.append(f"{cls}: {key} canvass {v}, reference {mine[key]}")
    return diffs


def self_test():
    gt = {
        "images": [{"id": 1, "file_name": "a.png", "width": 100, "height": 100},
                   {"id": 2, "file_name": "b.png", "width": 100, "height": 100}],
        "categories": [{"id": 1, "name": "car"}, {"id": 2, "name": "handgun"}, {"id": 3, "name": "bus"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "iscrowd": 0},
            {"id": 2, "image_id": 1, "category_id": 1, "bbox": [50, 50, 10, 10], "iscrowd": 0},
            {"id": 3, "image_id": 2, "category_id": 2, "bbox": [20, 20, 20, 10], "iscrowd": 0},
            {"id": 4, "image_id": 2, "category_id": 1, "bbox": [0, 0, 10, 10], "iscrowd": 0},
        ],
    }
    # IoU of [50,50,10,10] with [54,50,10,10]: 6*10 / (200 - 60) = 60/140 = 0.43 (< 0.5: a miss).
    assert abs(iou([50, 50, 10, 10], [54, 50, 10, 10]) - 60 / 140) < 1e-12
    # IoU of [0,0,10,10] with [0,0,10,5]: 50/100 = 0.5 exactly (>= 0.5: a hit).
    assert iou([0, 0, 10, 10], [0, 0, 10, 5]) == 0.5
    assert iou([0, 0, 10, 10], [10, 0, 10, 10]) == 0.0  # touching edges do not overlap
    preds = [
        {"image_id": 1, "class": "car", "bbox": [0, 0, 10, 10], "score": 0.9},    # exact: TP
        {"image_id": 1, "class": "car", "bbox": [1, 0, 10, 10], "score": 0.8},    # duplicate: FP
        {"image_id": 1, "class": "car", "bbox": [54, 50, 10, 10], "score": 0.7},  # IoU 0.43: FP, GT 2 missed
        {"image_id": 2, "class": "handgun", "bbox": [20, 20, 20, 5], "score": 0.3},  # IoU 0.5: TP
        {"image_id": 2, "class": "car", "bbox": [20, 20, 20, 10], "score": 0.95},  # on the handgun: FP for car
        {"image_id": 2, "class": "knife", "bbox": [0, 0, 5, 5], "score": 0.5},    # class not labelled: FP
    ]
    images, order, boxes = load_gt(gt)
    r = evaluate(boxes, load_predictions(preds, images), order)
    assert list(r) == ["car", "handgun", "bus", "knife"], list(r)
    assert (r["car"]["labelled"], r["car"]["detected"], r["car"]["true_positives"]) == (3, 4, 1), r["car"]
    assert r["car"]["recall"] == 1 / 3 and r["car"]["precision"] == 1 / 4
    assert (r["handgun"]["labelled"], r["handgun"]["detected"], r["handgun"]["true_positives"]) == (1, 1, 1)
    assert r["bus"] == {"labelled": 0, "detected": 0, "true_positives": 0, "recall": None, "precision": None}
    assert (r["knife"]["labelled"], r["knife"]["detected"], r["knife"]["true_positives"]) == (0, 1, 0)
    assert r["knife"]["recall"] is None and r["knife"]["precision"] == 0.0

    # Score order decides: the higher-scored of two overlapping predictions takes the one box,
    # whichever order they are listed in, and the lower-scored one cannot then match.
    gt2 = {"images": [{"id": 1}], "categories": [{"id": 1, "name": "car"}],
           "annotations": [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10]},
                           {"image_id": 1, "category_id": 1, "bbox": [6, 0, 10, 10]}]}
    images2, order2, boxes2 = load_gt(gt2)
    # [3,0,10,10] has IoU 7/13 = 0.54 with both boxes; the first in the file (box 1) wins the tie.
    # Then [0,0,10,10] (lower score) finds box 1 taken and box 2 at IoU 4/16 = 0.25: FP.
    p2 = [{"image_id": 1, "class": "car", "bbox": [0, 0, 10, 10], "score": 0.1},
          {"image_id": 1, "class": "car", "bbox": [3, 0, 10, 10], "score": 0.9}]
    assert evaluate(boxes2, load_predictions(p2, images2), order2)["car"]["true_positives"] == 1
    # Greedy by IoU, not an optimal assignment: the higher-scored prediction takes the box it
    # overlaps most (IoU 0.55 against 0.53), which leaves the other prediction (IoU 0.54 with that
    # same box, 0.05 with the other) unmatched, though pairing them the other way would give 2.
    gt3 = {"images": [{"id": 1}], "categories": [{"id": 1, "name": "car"}],
           "annotations": [{"image_id": 1, "category_id": 1, "bbox": [10, 0, 10, 10]},
                           {"image_id": 1, "category_id": 1, "bbox": [16, 0, 10, 10]}]}
    images3, order3, boxes3 = load_gt(gt3)
    p3 = [{"image_id": 1, "class": "car", "bbox": [12.9, 0, 10, 10], "score": 0.9},
          {"image_id": 1, "class": "car", "bbox": [7, 0, 10, 10], "score": 0.8}]
    assert evaluate(boxes3, load_predictions(p3, images3), order3)["car"]["true_positives"] == 1

    # The report comparison: counts must be equal, true positives within 1.
    same = {"classes": {"car": {"labelled": 3, "detected": 4, "true_positives": 2},
                        "handgun": {"labelled": 1, "detected": 1, "true_positives": 1},
                        "knife": {"labelled": 0, "detected": 1, "true_positives": 0}}}
    assert compare(r, same) == [], compare(r, same)
    off = {"classes": {"car": {"labelled": 3, "detected": 5, "true_positives": 3},
                       "handgun": {"labelled": 1, "detected": 1, "true_positives": 1},
                       "bus": {"labelled": 1, "detected": 0, "true_positives": 0}}}
    d = compare(r, off)
    assert d == ["car: detected canvass 5, reference 4", "car: true_positives canvass 3, reference 1",
                 "bus: labelled canvass 1, reference 0", "knife: detected canvass 0, reference 1"], d

    # Bad input is refused, not guessed at.
    for bad in ([{"image_id": 9, "class": "car", "bbox": [0, 0, 1, 1], "score": 1}],
                [{"image_id": 1, "class": "car", "bbox": [0, 0, -1, 1], "score": 1}],
                [{"image_id": 1, "class": "car", "bbox": [0, 0, 1, 1]}]):
        try:
            load_predictions(bad, images)
        except InputError:
            pass
        else:
            raise AssertionError(f"accepted {bad}")
    print("self-test passed")


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Reference per-class recall/precision (IoU >= 0.5) for canvass's evaluation.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 2)[2],
    )
    ap.add_argument("--gt", help="COCO instances JSON (ground truth)")
    ap.add_argument("--predictions", help="JSON list of {image_id, class, bbox, score}")
    ap.add_argument("--canvass", help="canvass's report JSON to compare with")
    ap.add_argument("--json", help="write this script's numbers here as {\"classes\": {...}}")
    ap.add_argument("--self-test", action="store_true", help="check this script on a tiny synthetic set")
    args = ap.parse_args(argv)

    if args.self_test:
        self_test()
        return 0
    if not args.gt or not args.predictions:
        ap.error("--gt and --predictions are required (or --self-test)")

    try:
        with open(args.gt, encoding="utf-8") as f:
            images, order, boxes = load_gt(json.load(f))
        with open(args.predictions, encoding="utf-8") as f:
            preds = load_predictions(json.load(f), images)
        report = None
        if args.canvass:
            with open(args.canvass, encoding="utf-8") as f:
                report = json.load(f)
    except (OSError, ValueError, InputError) as e:
        print(f"eval_check: error: {e}", file=sys.stderr)
        return 2

    result = evaluate(boxes, preds, order)
    print(f"{len(images)} images, {len(boxes)} labelled boxes, {len(preds)} predictions; "
          f"a match needs the same class and IoU >= {IOU_THRESHOLD}")
    print(table(result))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"classes": result}, f, indent=2)
            f.write("\n")

    if report is not None:
        try:
            diffs = compare(result, report)
        except InputError as e:
            print(f"eval_check: error: {e}", file=sys.stderr)
            return 2
        if diffs:
            print(f"canvass's report differs from the reference (labelled and detected must be equal, "
                  f"true positives within {TP_TOLERANCE}):")
            for d in diffs:
                print(f"  {d}")
            return 1
        print("canvass's report agrees with the reference")
    return 0


if __name__ == "__main__":
    sys.exit(main())
