r"""A synthetic object-detection set: shapes on cluttered 64x64 images (nothing downloaded).

Each grayscale image holds 1-3 non-overlapping objects of three classes (``square``, ``disc``,
``triangle``) with random size and contrast, on a background of random level with pixel noise and
clutter (thin lines and small blobs, smaller than any object). Boxes are [x0, y0, x1, y1] in
pixels (x1, y1 exclusive). Everything is deterministic from ``seed``. :func:`to_coco` /
:func:`from_coco` write and read the standard COCO JSON (bbox = [x, y, w, h]), so pycocotools and
other standard tools read the set.

>>> ds = make_shapes(4, seed=0)
>>> ds.images.shape, ds.classes
((4, 1, 64, 64), ('square', 'disc', 'triangle'))
>>> boxes, labels = from_coco(to_coco(ds), ds.images.shape[-1])
>>> all((a == b).all() for a, b in zip(boxes, ds.boxes))
True
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import List, Tuple, Union

import numpy as np

from spikecore._guards import integer

__all__ = ["CLASSES", "DetectionSet", "check_boxes", "from_coco", "make_shapes", "to_coco"]

CLASSES = ("square", "disc", "triangle")


@dataclass
class DetectionSet:
    """Images float32 [N, 1, S, S] in [0, 1]; per image boxes float32 [k, 4] (xyxy pixels) and
    labels int64 [k] (indices into ``classes``)."""

    images: np.ndarray
    boxes: List[np.ndarray]
    labels: List[np.ndarray]
    classes: Tuple[str, ...] = CLASSES

    def __len__(self) -> int:
        return int(self.images.shape[0])


def check_boxes(boxes: np.ndarray, size: int, name: str = "boxes") -> np.ndarray:
    """Validated [k, 4] xyxy boxes inside a size x size image (x0 < x1, y0 < y1)."""
    b = np.asarray(boxes, dtype=np.float32)
    if b.ndim != 2 or b.shape[1] != 4:
        raise ValueError(f"{name}: expected shape [k, 4] (x0, y0, x1, y1), got {b.shape}")
    if not np.isfinite(b).all():
        raise ValueError(f"{name}: contains NaN or inf")
    if len(b) and ((b[:, :2] < 0).any() or (b[:, 2:] > size).any()):
        raise ValueError(f"{name}: a box lies outside the {size}x{size} image")
    if len(b) and ((b[:, 2] <= b[:, 0]).any() or (b[:, 3] <= b[:, 1]).any()):
        raise ValueError(f"{name}: every box needs x0 < x1 and y0 < y1")
    return b


def _shape_mask(kind: int, x0: int, y0: int, s: int, size: int) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    if kind == 0:
        return (xx >= x0) & (xx < x0 + s) & (yy >= y0) & (yy < y0 + s)
    if kind == 1:
        r = s / 2.0
        return (xx - x0 - r) ** 2 + (yy - y0 - r) ** 2 <= r * r
    # upward triangle with apex at the top centre and base at the bottom
    u = (yy - y0) / s
    half = u * s / 2.0
    cx = x0 + s / 2.0
    return (u >= 0) & (u <= 1) & (np.abs(xx - cx) <= half)


def make_shapes(
    n: int,
    size: int = 64,
    seed: int = 0,
    max_objects: int = 3,
    min_size: int = 10,
    max_size: int = 26,
    clutter: int = 6,
    noise: float = 0.05,
) -> DetectionSet:
    """``n`` images of ``size`` x ``size`` pixels with 1..``max_objects`` objects each."""
    n, size = integer(n, "n", 1), integer(size, "size")
    max_objects, clutter = integer(max_objects, "max_objects"), integer(clutter, "clutter")
    min_size, max_size = integer(min_size, "min_size"), integer(max_size, "max_size")
    if not 4 <= min_size <= max_size <= size // 2:
        raise ValueError(
            f"min_size, max_size: need 4 <= min_size <= max_size <= size/2, got "
            f"{min_size}, {max_size} for size {size}"
        )
    if max_objects < 1 or clutter < 0 or not noise >= 0:
        raise ValueError("max_objects must be >= 1, clutter >= 0, noise >= 0")
    rng = np.random.default_rng(seed)
    images = np.empty((n, 1, size, size), np.float32)
    all_boxes, all_labels = [], []
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    for i in range(n):
        img = np.full((size, size), rng.uniform(0.0, 0.3), np.float32)
        for _ in range(int(rng.integers(0, clutter + 1))):  # clutter: lines and small blobs
            level = rng.uniform(0.2, 0.8)
            if rng.random() < 0.5:
                p, q = rng.uniform(0, size, 2), rng.uniform(0, size, 2)
                d = q - p
                t = np.clip(((xx - p[0]) * d[0] + (yy - p[1]) * d[1]) / max(d @ d, 1e-6), 0, 1)
                dist = np.hypot(xx - p[0] - t * d[0], yy - p[1] - t * d[1])
                img[dist < 0.7] = level
            else:
                c, r = rng.uniform(0, size, 2), rng.uniform(1.0, 2.5)
                img[(xx - c[0]) ** 2 + (yy - c[1]) ** 2 <= r * r] = level
        boxes: list = []
        labels: list = []
        for _ in range(int(rng.integers(1, max_objects + 1))):
            for _try in range(50):
                s = int(rng.integers(min_size, max_size + 1))
                x0, y0 = (int(v) for v in rng.integers(0, size - s + 1, 2))
                b = np.array([x0, y0, x0 + s, y0 + s], np.float32)
                if all(
                    b[0] >= o[2] + 2 or o[0] >= b[2] + 2 or b[1] >= o[3] + 2 or o[1] >= b[3] + 2
                    for o in boxes
                ):
                    break
            else:
                continue
            k = int(rng.integers(0, len(CLASSES)))
            img[_shape_mask(k, x0, y0, s, size)] = rng.uniform(0.45, 1.0)
            boxes.append(b)
            labels.append(k)
        img += rng.normal(0.0, noise, img.shape).astype(np.float32)
        images[i, 0] = np.clip(img, 0.0, 1.0)
        all_boxes.append(np.stack(boxes).astype(np.float32))
        all_labels.append(np.asarray(labels, np.int64))
    return DetectionSet(images, all_boxes, all_labels)


def to_coco(ds: DetectionSet, path: Union[str, Path, None] = None) -> dict:
    """COCO JSON of the ground truth (images, annotations, categories); written to ``path`` if
    given. Image ids are 1-based positions, category ids 1-based class indices."""
    size = int(ds.images.shape[-1])
    images: list = []
    anns: list = []
    for i, (b, l) in enumerate(zip(ds.boxes, ds.labels)):
        b = check_boxes(b, size, f"boxes[{i}]")
        images.append(
            {
                "id": i + 1,
                "width": size,
                "height": int(ds.images.shape[-2]),
                "file_name": f"{i:06d}.png",
            }
        )
        for box, lab in zip(b, l):
            w, h = float(box[2] - box[0]), float(box[3] - box[1])
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": i + 1,
                    "category_id": int(lab) + 1,
                    "bbox": [float(box[0]), float(box[1]), w, h],
                    "area": w * h,
                    "iscrowd": 0,
                }
            )
    coco = {
        "images": images,
        "annotations": anns,
        "categories": [{"id": k + 1, "name": c} for k, c in enumerate(ds.classes)],
    }
    if path is not None:
        Path(path).write_text(json.dumps(coco))
    return coco


def from_coco(coco: Union[dict, str, Path], size: int):
    """Boxes (xyxy float32 [k, 4]) and labels (int64, 0-based) per image, in image-id order, from
    a COCO dict or JSON file; checks every image is ``size`` x ``size`` and every box inside it."""
    if not isinstance(coco, dict):
        from spikecore.data.files import read_json

        coco = read_json(coco, "a COCO annotation file")
    assert isinstance(coco, dict)
    for key in ("images", "annotations", "categories"):
        if key not in coco:
            raise ValueError(f"coco: missing the {key!r} list")
    ids = sorted(im["id"] for im in coco["images"])
    for im in coco["images"]:
        if im.get("width") != size or im.get("height") != size:
            raise ValueError(
                f"coco: image {im['id']} is {im.get('width')}x{im.get('height')}, "
                f"expected {size}x{size}"
            )
    cat_ids = sorted(c["id"] for c in coco["categories"])
    cat_index = {c: k for k, c in enumerate(cat_ids)}
    per: dict = {i: ([], []) for i in ids}
    for a in sorted(coco["annotations"], key=lambda a: a["id"]):
        if a["image_id"] not in per:
            raise ValueError(f"coco: annotation {a['id']} refers to unknown image {a['image_id']}")
        x, y, w, h = a["bbox"]
        per[a["image_id"]][0].append([x, y, x + w, y + h])
        per[a["image_id"]][1].append(cat_index[a["category_id"]])
    boxes = [
        check_boxes(np.asarray(per[i][0], np.float32).reshape(-1, 4), size, f"image {i} boxes")
        for i in ids
    ]
    labels = [np.asarray(per[i][1], np.int64) for i in ids]
    return boxes, labels
