r"""A tiny single-stage grid detector (YOLO-style) with an SPP block, built for ANN-to-SNN conversion.

Backbone: conv + BN + quantised ReLU (:class:`spikecore.convert.QCFS`, timestep compression) with
stride-2 convolutions, an SPP block (the input and its stride-1 max-pools of sizes 5, 9, 13,
concatenated), and one 1x1 head predicting per grid cell (stride ``S``) the objectness
:math:`o`, the box :math:`(t_x, t_y, t_w, t_h)` and class logits. Decoding (one anchor of side
``anchor`` pixels per cell at column i, row j):

.. math::

    c_x = S (i + \sigma(t_x)),\quad c_y = S (j + \sigma(t_y)),\quad
    w = a\, e^{t_w},\quad h = a\, e^{t_h},\quad
    \text{score} = \sigma(o) \max_k \mathrm{softmax}(\ell)_k

then per-class non-maximum suppression (torchvision.ops.batched_nms when importable, else the
same greedy algorithm here). :func:`evaluate_map` scores detections with pycocotools' COCOeval
(or faster-coco-eval): mAP@0.5 and mAP@[.5:.95].
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from typing import List, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from spikecore.nn.qcfs import QCFS

__all__ = [
    "SPP",
    "TinyDetector",
    "batched_nms",
    "decode",
    "detection_loss",
    "encode_targets",
    "evaluate_map",
    "nms",
    "predict",
    "train_detector",
]


def _act(kind: str, levels: int, lam: float) -> nn.Module:
    if kind == "qcfs":
        return QCFS(levels, lam)
    if kind == "relu":
        return nn.ReLU()
    raise ValueError(f"act: unknown value {kind!r}; valid choices: qcfs, relu")


def _cba(cin, cout, k, s, act, levels, lam):
    return [
        nn.Conv2d(cin, cout, k, s, k // 2, bias=False),
        nn.BatchNorm2d(cout),
        _act(act, levels, lam),
    ]


class SPP(nn.Module):
    """Spatial pyramid pooling: [x, maxpool_5(x), maxpool_9(x), maxpool_13(x)] on channels."""

    def __init__(self, sizes: Sequence[int] = (5, 9, 13)):
        super().__init__()
        self.pools = nn.ModuleList(nn.MaxPool2d(k, 1, k // 2) for k in sizes)

    def forward(self, x):
        return torch.cat([x] + [p(x) for p in self.pools], dim=1)


class TinyDetector(nn.Module):
    """Grid detector for ``image_size`` square single-channel images; output
    [B, 5 + n_classes, image_size/8, image_size/8]. ``act``: 'qcfs' (levels L) or 'relu'."""

    def __init__(
        self,
        n_classes: int = 3,
        image_size: int = 64,
        width: int = 16,
        act: str = "qcfs",
        levels: int = 15,
        lam: float = 2.0,
        anchor: float = 18.0,
    ):
        super().__init__()
        if image_size % 8 or image_size < 16:
            raise ValueError(f"image_size: must be a multiple of 8 and >= 16, got {image_size}")
        if n_classes < 1 or width < 1:
            raise ValueError("n_classes and width must be >= 1")
        w = width
        self.n_classes, self.image_size, self.stride, self.anchor = n_classes, image_size, 8, anchor
        a = (act, levels, lam)
        self.backbone = nn.Sequential(
            *_cba(1, w, 3, 2, *a),
            *_cba(w, 2 * w, 3, 2, *a),
            *_cba(2 * w, 2 * w, 3, 1, *a),
            *_cba(2 * w, 4 * w, 3, 2, *a),
        )
        self.spp = SPP()
        self.neck = nn.Sequential(*_cba(16 * w, 4 * w, 1, 1, *a), *_cba(4 * w, 4 * w, 3, 1, *a))
        self.head = nn.Conv2d(4 * w, 5 + n_classes, 1)

    def forward(self, x):
        if not isinstance(x, torch.fx.Proxy) and (
            x.dim() != 4 or x.shape[1] != 1 or x.shape[-2:] != (self.image_size, self.image_size)
        ):
            raise ValueError(
                f"x: expected [B, 1, {self.image_size}, {self.image_size}] images, "
                f"got shape {tuple(x.shape)}"
            )
        return self.head(self.neck(self.spp(self.backbone(x))))


def encode_targets(
    boxes: List[torch.Tensor], labels: List[torch.Tensor], grid: int, stride: int, anchor: float
):
    """Per-cell targets: objectness [B, G, G], box (tx, ty, tw, th) [B, 4, G, G], class [B, G, G]
    (-1 where empty). The cell holding a box's centre is responsible for it."""
    B = len(boxes)
    obj = torch.zeros(B, grid, grid)
    box = torch.zeros(B, 4, grid, grid)
    cls = torch.full((B, grid, grid), -1, dtype=torch.long)
    for b, (bx, lb) in enumerate(zip(boxes, labels)):
        for (x0, y0, x1, y1), k in zip(bx.tolist(), lb.tolist()):
            cx, cy = (x0 + x1) / 2 / stride, (y0 + y1) / 2 / stride
            i, j = min(int(cx), grid - 1), min(int(cy), grid - 1)
            obj[b, j, i] = 1.0
            box[b, :, j, i] = torch.tensor(
                [cx - i, cy - j, np.log((x1 - x0) / anchor), np.log((y1 - y0) / anchor)]
            )
            cls[b, j, i] = k
    return obj, box, cls


def detection_loss(out: torch.Tensor, boxes, labels, model: TinyDetector) -> torch.Tensor:
    """BCE objectness (all cells) + centre offsets (BCE on sigmoid) + log-size MSE + class CE
    (cells with an object)."""
    G = out.shape[-1]
    obj, box, cls = encode_targets(boxes, labels, G, model.stride, model.anchor)
    lo = F.binary_cross_entropy_with_logits(out[:, 0], obj, pos_weight=torch.tensor(4.0))
    pos = obj > 0
    if not pos.any():
        return lo
    p = out.permute(0, 2, 3, 1)[pos]  # [P, 5 + C]
    t = box.permute(0, 2, 3, 1)[pos]
    lxy = F.binary_cross_entropy_with_logits(p[:, 1:3], t[:, :2])
    lwh = F.mse_loss(p[:, 3:5], t[:, 2:])
    lc = F.cross_entropy(p[:, 5:], cls[pos])
    return lo + 2 * lxy + 2 * lwh + lc


def _iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    lt = torch.maximum(a[:, None, :2], b[None, :, :2])
    rb = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clamp_min(0).prod(-1)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / (area_a[:, None] + area_b[None, :] - inter).clamp_min(1e-9)


def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Greedy NMS (torchvision.ops.nms semantics): indices kept, by decreasing score."""
    order = torch.argsort(scores, descending=True, stable=True)
    keep = []
    iou = _iou(boxes, boxes)
    suppressed = torch.zeros(len(boxes), dtype=torch.bool)
    for i in order.tolist():
        if suppressed[i]:
            continue
        keep.append(i)
        suppressed |= iou[i] > iou_threshold
    return torch.tensor(keep, dtype=torch.long)


def batched_nms(boxes, scores, idxs, iou_threshold: float) -> torch.Tensor:
    """Per-class NMS: torchvision.ops.batched_nms when importable, else the offset trick here."""
    try:  # torchvision is optional (it does not install next to every torch build)
        from torchvision.ops import batched_nms as tv  # type: ignore

        return tv(boxes, scores, idxs, iou_threshold)
    except Exception:  # noqa: BLE001 - any import or runtime failure: use ours
        pass
    if boxes.numel() == 0:
        return torch.empty(0, dtype=torch.long)
    offset = idxs.to(boxes.dtype)[:, None] * (boxes.max() + 1)
    return nms(boxes + offset, scores, iou_threshold)


def decode(
    out: torch.Tensor,
    model: TinyDetector,
    score_threshold: float = 0.05,
    iou_threshold: float = 0.5,
    max_det: int = 20,
):
    """Detections per image: dicts with boxes [k, 4] (xyxy pixels), scores [k], labels [k]."""
    B, _, G, _ = out.shape
    S, a = model.stride, model.anchor
    jj, ii = torch.meshgrid(torch.arange(G), torch.arange(G), indexing="ij")
    cx = (ii + torch.sigmoid(out[:, 1])) * S
    cy = (jj + torch.sigmoid(out[:, 2])) * S
    w = a * torch.exp(out[:, 3].clamp(-4, 4))
    h = a * torch.exp(out[:, 4].clamp(-4, 4))
    prob = torch.softmax(out[:, 5:], dim=1)
    conf, lab = prob.max(1)
    score = torch.sigmoid(out[:, 0]) * conf
    lim = float(model.image_size)
    boxes = torch.stack(
        [
            (cx - w / 2).clamp(0, lim),
            (cy - h / 2).clamp(0, lim),
            (cx + w / 2).clamp(0, lim),
            (cy + h / 2).clamp(0, lim),
        ],
        dim=1,
    )
    dets = []
    for b in range(B):
        s = score[b].flatten()
        m = s > score_threshold
        bx = boxes[b].flatten(1).T[m]
        sc, lb = s[m], lab[b].flatten()[m]
        keep = batched_nms(bx, sc, lb, iou_threshold)[:max_det]
        dets.append({"boxes": bx[keep], "scores": sc[keep], "labels": lb[keep]})
    return dets


def evaluate_map(
    gt_boxes, gt_labels, dets, n_classes: int, image_size: int, backend: str = "auto"
) -> dict:
    """mAP@0.5 and mAP@[.5:.95] (COCO protocol) by pycocotools' COCOeval or faster-coco-eval.

    gt_boxes / gt_labels: per image xyxy boxes and 0-based labels; dets: :func:`decode` output.
    Returns {'map_50': ..., 'map': ...} in [0, 1] (-1 where COCO has nothing to score)."""
    if len(gt_boxes) != len(dets):
        raise ValueError(f"dets: {len(dets)} images of detections for {len(gt_boxes)} images")
    if backend not in ("auto", "pycocotools", "faster_coco_eval"):
        raise ValueError(
            f"backend: unknown value {backend!r}; valid choices: auto, pycocotools, "
            "faster_coco_eval"
        )
    if backend in ("auto", "pycocotools"):
        try:
            from pycocotools.coco import COCO
            from pycocotools.cocoeval import COCOeval
        except ImportError:
            if backend == "pycocotools":
                raise
            backend = "faster_coco_eval"
    if backend == "faster_coco_eval":
        from faster_coco_eval import COCO
        from faster_coco_eval import COCOeval_faster as COCOeval
    images: list = []
    anns: list = []
    res: list = []
    for i, (bx, lb, d) in enumerate(zip(gt_boxes, gt_labels, dets)):
        images.append({"id": i + 1, "width": image_size, "height": image_size})
        for box, k in zip(np.asarray(bx, np.float64).reshape(-1, 4), np.asarray(lb).tolist()):
            w, h = box[2] - box[0], box[3] - box[1]
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": i + 1,
                    "category_id": int(k) + 1,
                    "bbox": [box[0], box[1], w, h],
                    "area": w * h,
                    "iscrowd": 0,
                }
            )
        for box, s, k in zip(d["boxes"].tolist(), d["scores"].tolist(), d["labels"].tolist()):
            res.append(
                {
                    "image_id": i + 1,
                    "category_id": int(k) + 1,
                    "bbox": [box[0], box[1], box[2] - box[0], box[3] - box[1]],
                    "score": float(s),
                }
            )
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = {
            "images": images,
            "annotations": anns,
            "categories": [{"id": k + 1} for k in range(n_classes)],
        }
        gt.createIndex()
        if not res:
            return {"map_50": 0.0, "map": 0.0}
        dt = gt.loadRes(res)
        ev = COCOeval(gt, dt, "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return {"map": float(ev.stats[0]), "map_50": float(ev.stats[1])}


def predict(
    model, images, detector: Optional[TinyDetector] = None, batch_size: int = 64, **decode_kw
):
    """Run ``model`` (the ANN, or a converted SNN of it: then pass the ANN as ``detector`` for
    the grid geometry) over images [N, 1, S, S] in batches and decode."""
    det = detector if detector is not None else model
    if not isinstance(det, TinyDetector):
        raise TypeError("detector: pass the TinyDetector whose grid the model's output uses")
    images = torch.as_tensor(images)
    if images.dim() != 4 or tuple(images.shape[1:]) != (1, det.image_size, det.image_size):
        raise ValueError(
            f"images: expected [N, 1, {det.image_size}, {det.image_size}], got "
            f"{tuple(images.shape)}"
        )
    dets = []
    with torch.no_grad():
        for i in range(0, len(images), batch_size):
            dets += decode(model(images[i : i + batch_size]), det, **decode_kw)
    return dets


def train_detector(
    model: TinyDetector,
    ds,
    epochs: int = 15,
    batch_size: int = 32,
    lr: float = 3e-3,
    seed: int = 0,
    log=None,
) -> TinyDetector:
    """Adam on :func:`detection_loss`, cosine learning rate; deterministic from ``seed``."""
    g = torch.Generator().manual_seed(seed)
    x = torch.as_tensor(ds.images)
    boxes = [torch.as_tensor(b) for b in ds.boxes]
    labels = [torch.as_tensor(l) for l in ds.labels]
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * ((len(x) + batch_size - 1) // batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=steps, pct_start=0.15)
    model.train()
    for ep in range(epochs):
        perm = torch.randperm(len(x), generator=g)
        tot = 0.0
        for i in range(0, len(x), batch_size):
            idx = perm[i : i + batch_size].tolist()
            loss = detection_loss(
                model(x[idx]), [boxes[k] for k in idx], [labels[k] for k in idx], model
            )
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item() * len(idx)
        if log:
            log(f"epoch {ep + 1}/{epochs}: loss {tot / len(x):.4f}")
    return model.eval()
