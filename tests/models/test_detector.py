"""TinyDetector: mAP on a hand-made case, NMS, decoding, and claim 2 at reduced size."""

import pytest
import torch

from spikecore.models.detector import (
    TinyDetector,
    batched_nms,
    decode,
    encode_targets,
    evaluate_map,
    nms,
    predict,
)


@pytest.mark.parametrize("backend", ["pycocotools", "faster_coco_eval"])
def test_map_hand_made_case(backend):
    pytest.importorskip(backend)
    gt_b = [torch.tensor([[0.0, 0, 10, 10], [20, 20, 40, 40]]), torch.tensor([[5.0, 5, 25, 25]])]
    gt_l = [torch.tensor([0, 1]), torch.tensor([0])]
    perfect = [{"boxes": b, "scores": torch.ones(len(b)), "labels": l} for b, l in zip(gt_b, gt_l)]
    r = evaluate_map(gt_b, gt_l, perfect, 2, 64, backend)
    assert r["map_50"] == pytest.approx(1.0) and r["map"] == pytest.approx(1.0)
    # class 1 missed entirely, class 0 found twice: AP(0) = 1, AP(1) = 0 -> mAP 0.5
    half = [
        {"boxes": gt_b[0][:1], "scores": torch.ones(1), "labels": torch.tensor([0])},
        perfect[1],
    ]
    assert evaluate_map(gt_b, gt_l, half, 2, 64, backend)["map_50"] == pytest.approx(0.5)
    # the class-1 box shifted by 2 px: IoU 324/476 = 0.68 counts at thresholds 0.5 .. 0.65
    # (4 of 10), class 0 perfect: mAP@0.5 = 1, mAP@[.5:.95] = (1 + 0.4) / 2
    shifted = [
        {
            "boxes": gt_b[0] + torch.tensor([[0.0, 0, 0, 0], [2, 2, 2, 2]]),
            "scores": torch.ones(2),
            "labels": gt_l[0],
        },
        perfect[1],
    ]
    r = evaluate_map(gt_b, gt_l, shifted, 2, 64, backend)
    assert r["map_50"] == pytest.approx(1.0) and r["map"] == pytest.approx(0.7, abs=1e-3)


def test_nms_matches_greedy_definition():
    boxes = torch.tensor([[0.0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 9]])
    scores = torch.tensor([0.9, 0.8, 0.7, 0.95])
    assert nms(boxes, scores, 0.5).tolist() == [3, 2]
    keep = batched_nms(boxes, scores, torch.tensor([0, 1, 0, 0]), 0.5)
    assert sorted(keep.tolist()) == [1, 2, 3]


def test_decode_inverts_targets():
    det = TinyDetector()
    boxes = [torch.tensor([[8.0, 10, 30, 28]])]
    obj, box, cls = encode_targets(boxes, [torch.tensor([2])], 8, 8, det.anchor)
    out = torch.full((1, 8, 8, 8), -20.0)
    out[0, 0] = torch.where(obj[0] > 0, 20.0, -20.0)
    p = box[0, :2].clamp(1e-4, 1 - 1e-4)
    out[0, 1:3] = torch.log(p / (1 - p))
    out[0, 3:5] = box[0, 2:]
    out[0, 5 + 2] = torch.where(obj[0] > 0, 20.0, 0.0)
    d = decode(out, det)[0]
    assert d["labels"].tolist() == [2]
    assert torch.allclose(d["boxes"], boxes[0], atol=1e-2)


def test_bad_input():
    det = TinyDetector()
    with pytest.raises(ValueError, match="x: expected"):
        det(torch.zeros(1, 1, 32, 32))
    with pytest.raises(ValueError, match="image_size"):
        TinyDetector(image_size=60)
    with pytest.raises(ValueError, match="images"):
        predict(det.eval(), torch.zeros(2, 1, 48, 48))
    with pytest.raises(ValueError, match="dets"):
        evaluate_map([torch.zeros(0, 4)], [torch.zeros(0)], [], 3, 64)


def test_claim2_stdi_detector_lossless_reduced(example):
    ex = example("suhd_detector")
    torch.set_num_threads(1)
    res = ex.run(
        n_train=200, n_test=30, epochs=2, T=4, rate_T=(4, 32), stdi_T=(4,), log=lambda s: None
    )
    assert abs(res["ann"]["map_50"] - res["stdi"]["map_50"]) <= 0.005
    assert res["box_for_box"] >= 0.8
    assert res["synops_per_image"]["stdi"] > 0
