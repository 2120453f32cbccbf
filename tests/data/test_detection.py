"""Synthetic shapes detection set: determinism, box validity, COCO JSON round trip, bad input."""

import json

import numpy as np
import pytest

from spikecore.data.detection import check_boxes, from_coco, make_shapes, to_coco


def test_deterministic_and_valid():
    a, b = make_shapes(12, seed=3), make_shapes(12, seed=3)
    assert np.array_equal(a.images, b.images)
    assert all(np.array_equal(x, y) for x, y in zip(a.boxes, b.boxes))
    assert not np.array_equal(a.images, make_shapes(12, seed=4).images)
    assert a.images.dtype == np.float32 and a.images.min() >= 0 and a.images.max() <= 1
    for bx, lb in zip(a.boxes, a.labels):
        check_boxes(bx, 64)
        assert 1 <= len(bx) <= 3 and len(lb) == len(bx) and set(lb.tolist()) <= {0, 1, 2}
        w = bx[:, 2] - bx[:, 0]
        assert ((w >= 10) & (w <= 26)).all()


def test_coco_round_trip(tmp_path):
    ds = make_shapes(7, seed=0)
    path = tmp_path / "gt.json"
    coco = to_coco(ds, path)
    assert json.loads(path.read_text()) == coco
    assert {c["name"] for c in coco["categories"]} == {"square", "disc", "triangle"}
    boxes, labels = from_coco(path, 64)
    assert all(np.array_equal(x, y) for x, y in zip(boxes, ds.boxes))
    assert all(np.array_equal(x, y) for x, y in zip(labels, ds.labels))


def test_bad_input():
    with pytest.raises(ValueError, match="outside"):
        check_boxes(np.array([[50.0, 50, 70, 60]]), 64)
    with pytest.raises(ValueError, match="x0 < x1"):
        check_boxes(np.array([[10.0, 10, 5, 20]]), 64)
    with pytest.raises(ValueError, match=r"\[k, 4\]"):
        check_boxes(np.zeros((2, 3)), 64)
    coco = to_coco(make_shapes(2, seed=0))
    with pytest.raises(ValueError, match="expected 32x32"):
        from_coco(coco, 32)
    coco["annotations"][0]["bbox"] = [60.0, 60.0, 10.0, 10.0]
    with pytest.raises(ValueError, match="outside"):
        from_coco(coco, 64)
    with pytest.raises(ValueError, match="n:"):
        make_shapes(0)
    with pytest.raises(ValueError, match="min_size"):
        make_shapes(2, min_size=40)
