"""Knowledge distillation: losses against their formulas, adapters, schedules, teachers, bad input."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from spikecore.learn import perturb
from spikecore.learn.distill import (
    DistillationLoss,
    FeatureAdapter,
    Schedule,
    feature_loss,
    kd_loss,
    labelled_cross_entropy,
    response_loss,
    virtual_teacher_logits,
)


def test_kd_loss_formula_time_average():
    g = torch.Generator().manual_seed(0)
    zs = torch.randn(5, 4, 10, generator=g, dtype=torch.float64)
    zt = torch.randn(4, 10, generator=g, dtype=torch.float64)
    y = torch.tensor([1, 2, 3, 4])
    alpha, tau = 0.3, 2.5
    m = zs.mean(0)
    p_t = torch.softmax(zt / tau, -1)
    kl = (p_t * (torch.log(p_t) - torch.log_softmax(m / tau, -1))).sum(-1).mean()
    ref = (1 - alpha) * F.cross_entropy(m, y) + alpha * tau**2 * kl
    assert torch.allclose(kd_loss(zs, zt, y, alpha, tau), ref, atol=1e-12)
    assert torch.allclose(kd_loss(zs, zt, y, 0.0, tau), F.cross_entropy(m, y), atol=1e-12)
    assert float(response_loss(zt.unsqueeze(0).repeat(3, 1, 1), zt, 3.0)) == pytest.approx(
        0.0, abs=1e-12
    )


def test_unlabelled_items_enter_only_the_kl_term():
    g = torch.Generator().manual_seed(3)
    zs = torch.randn(4, 6, 5, generator=g, dtype=torch.float64)
    zt = torch.randn(6, 5, generator=g, dtype=torch.float64)
    y = torch.tensor([1, -1, 3, -1, 0, 4])
    lab = y >= 0
    m = zs.mean(0)
    ref = 0.4 * F.cross_entropy(m[lab], y[lab]) + 0.6 * response_loss(m, zt, 2.0)
    assert torch.allclose(kd_loss(zs, zt, y, 0.6, 2.0), ref, atol=1e-12)
    none = torch.full((6,), -1)
    assert torch.allclose(kd_loss(zs, zt, none, 0.6, 2.0), 0.6 * response_loss(m, zt, 2.0))
    z = m.clone().requires_grad_(True)
    out = labelled_cross_entropy(z, none)
    out.backward()
    assert float(out.detach()) == 0.0 and float(z.grad.abs().sum()) == 0.0
    with pytest.raises(IndexError, match="target"):
        kd_loss(zs, zt, torch.tensor([1, -2, 3, 0, 0, 4]))
    with pytest.raises(ValueError, match="target"):
        kd_loss(zs, zt, torch.zeros(6))


def test_kd_loss_gradient_only_to_student():
    zs = torch.randn(3, 2, 5, requires_grad=True)
    zt = torch.randn(2, 5, requires_grad=True)
    kd_loss(zs, zt, torch.tensor([0, 1]), 0.5, 4.0).backward()
    assert zs.grad is not None and zt.grad is None


def test_teacher_shape_mismatch():
    with pytest.raises(ValueError, match="teacher_logits"):
        kd_loss(torch.randn(3, 2, 5), torch.randn(2, 6), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="teacher_logits"):
        response_loss(torch.randn(2, 5), torch.randn(3, 5))
    with pytest.raises(ValueError, match="target"):
        kd_loss(torch.randn(3, 2, 5), torch.randn(2, 5), torch.tensor([0, 1, 2]))


@pytest.mark.parametrize(
    "kw,name",
    [
        (dict(alpha=1.5), "alpha"),
        (dict(alpha=-0.1), "alpha"),
        (dict(temperature=0.0), "temperature"),
        (dict(temperature=float("inf")), "temperature"),
    ],
)
def test_bad_kd_parameters(kw, name):
    with pytest.raises(ValueError, match=name):
        kd_loss(torch.randn(3, 2, 5), torch.randn(2, 5), torch.tensor([0, 1]), **kw)


def test_virtual_teacher():
    y = torch.tensor([0, 3, 2])
    p = virtual_teacher_logits(y, 4, a=0.7).exp()
    assert torch.allclose(p.sum(1), torch.ones(3))
    assert torch.allclose(p[torch.arange(3), y], torch.full((3,), 0.7))
    assert torch.allclose(p[0, 1], torch.tensor(0.1))
    with pytest.raises(ValueError, match="a"):
        virtual_teacher_logits(y, 4, a=1.0)
    with pytest.raises(IndexError, match="target"):
        virtual_teacher_logits(torch.tensor([5]), 4)
    with pytest.raises(ValueError, match="n_classes"):
        virtual_teacher_logits(y, 1)


def test_feature_adapter_is_1x1_conv():
    ad = FeatureAdapter(3, 5)
    f = torch.randn(2, 3, 4, 4)
    ref = F.conv2d(f, ad.proj.weight[:, :, None, None], ad.proj.bias)
    assert torch.allclose(ad(f), ref, atol=1e-6)
    seq = torch.randn(6, 2, 3)  # [T, B, C]
    assert torch.allclose(ad(seq, time_major=True), ad.proj(seq.mean(0)))
    with pytest.raises(ValueError, match="f"):
        ad(torch.randn(2, 4))
    with pytest.raises(ValueError, match="student_channels"):
        FeatureAdapter(0, 3)
    with pytest.raises(ValueError, match="teacher_feature"):
        feature_loss(seq, torch.randn(2, 4), ad)


def test_schedules():
    lin = Schedule(1.0, 3.0, steps=4)
    assert [lin(k) for k in (0, 2, 4, 9)] == [1.0, 2.0, 3.0, 3.0]
    cos = Schedule(4.0, 1.0, steps=10, kind="cosine")
    assert cos(0) == pytest.approx(4.0) and cos(10) == pytest.approx(1.0)
    assert cos(5) == pytest.approx(2.5)
    with pytest.raises(ValueError, match="kind"):
        Schedule(1.0, kind="step")
    with pytest.raises(ValueError, match="steps"):
        Schedule(1.0, 2.0, steps=0)


def _student():
    import spikecore.nn as snn

    torch.manual_seed(0)
    return torch.nn.Sequential(
        snn.Linear(6, 8), snn.LIF(), snn.Linear(8, 3), snn.LeakyIntegrator(tau=float("inf"))
    )


def _teacher():
    torch.manual_seed(1)
    return torch.nn.Sequential(torch.nn.Linear(6, 7), torch.nn.ReLU(), torch.nn.Linear(7, 3))


def test_distillation_loss_frozen_joint_features_and_schedule():
    s, t = _student(), _teacher()
    x = torch.rand(4, 6)
    spikes = (torch.rand(5, 4, 6) < 0.5).float()
    y = torch.tensor([0, 1, 2, 0])
    kd = DistillationLoss(
        t,
        alpha=Schedule(0.0, 1.0, steps=2),
        temperature=2.0,
        frozen=True,
        student=s,
        features=[("1", "1", 8, 7)],
        feature_weight=1.0,
    )
    assert kd.alpha == 0.0
    loss = kd(s(spikes), y, teacher_input=x)
    loss.backward()
    assert all(p.grad is None for p in t.parameters())
    assert kd.adapters[0].proj.weight.grad is not None
    kd.step()
    assert kd.alpha == 0.5
    t2 = _teacher()
    joint = DistillationLoss(t2, alpha=0.5, temperature=2.0, frozen=False)
    joint(s(spikes), y, teacher_input=x).backward()
    assert all(p.grad is not None for p in t2.parameters())
    with pytest.raises(ValueError, match="teacher_input"):
        joint(s(spikes), y)
    with pytest.raises(ValueError, match="names"):
        DistillationLoss(t, student=s, features=[("nope", "1", 8, 7)])


def test_perturbations():
    x = np.random.default_rng(0).random((20, 10)).astype(np.float32)
    for fn, arg in ((perturb.gaussian_noise, 0.3), (perturb.salt_and_pepper, 0.2)):
        a, b = fn(x, arg, seed=1), fn(x, arg, seed=1)
        assert np.array_equal(a, b) and a.dtype == x.dtype
        assert a.min() >= 0 and a.max() <= 1 and not np.array_equal(a, x)
        assert np.array_equal(fn(x, 0.0), x)
    sp = (torch.rand(8, 5, 10) < 0.5).float()
    d = perturb.spike_deletion(sp, 0.5, seed=2)
    assert isinstance(d, torch.Tensor) and bool((d <= sp).all())
    assert 0.3 < float(d.sum() / sp.sum()) < 0.7
    with pytest.raises(ValueError, match="p"):
        perturb.salt_and_pepper(x, 1.5)
    with pytest.raises(ValueError, match="sigma"):
        perturb.gaussian_noise(x, -1.0)


def test_claim_kd_student_follows_teacher(example):
    """Reduced examples/distill.py: the KD student's output distribution is closer to the ANN
    teacher's than a plainly trained student's (same T, same epochs), and it stays accurate."""
    from spikecore.data.digits import load_digits
    from spikecore.learn import loop

    ex = example("distill")
    data = load_digits(seed=0)
    teacher, t_acc = ex.train_teacher(data, epochs=30, seed=0)
    assert t_acc > 0.95
    steps = 2
    kl = {}
    acc = {}
    spikes = loop.encode(data.x_test, steps, seed=7)
    with torch.no_grad():
        p_t = torch.softmax(teacher(torch.from_numpy(data.x_test)) / 2.0, -1)
    for kind in ("plain", "kd"):
        st = ex.train_student(
            data,
            steps,
            teacher if kind == "kd" else None,
            epochs=5,
            seed=0,
            alpha=0.5,
            temperature=2.0,
            lr=5e-3,
        )
        with torch.no_grad():
            log_p_s = torch.log_softmax(loop.time_mean(st, spikes) / 2.0, -1)
        kl[kind] = float((p_t * (p_t.clamp_min(1e-12).log() - log_p_s)).sum(1).mean())
        acc[kind] = loop.accuracy(st, data.x_test, data.y_test, steps=steps)
    assert kl["kd"] < 0.8 * kl["plain"], kl
    assert acc["kd"] > 0.85, acc


def test_claim_kd_beats_plain_with_few_labels(example):
    """Reduced examples/distill.py --train-fraction 0.2: with 20 % of the labels and the rest as
    an unlabelled transfer set, the KD student (CNN teacher) is more accurate on clean test data
    than the plainly trained student at T = 2, mean over three seeds (full size, docs/learn.md:
    +2.2 points over 6 seeds, KD ahead on every seed; at this reduced size +0.2 .. +2.7 points
    per seed, 6 of 6 positive, mean +1.5)."""
    from spikecore.learn import loop

    ex = example("distill")
    steps = 2
    acc = {"plain": [], "kd": []}
    for seed in (0, 1, 2):
        data = ex.few_labels(0.2, seed=seed)
        assert len(data.x_train) == 209 and len(data.x_unlabelled) == 838
        teacher = ex.train_cnn_teacher(data.x_train, data.y_train, epochs=60, seed=seed)
        assert ex.teacher_accuracy(teacher, data.x_test, data.y_test) > 0.93
        plain = ex.train_student(data, steps, None, hidden=32, epochs=150, batch=32, seed=seed)
        kd = ex.train_student(
            data,
            steps,
            teacher,
            hidden=32,
            epochs=25,
            batch=64,
            seed=seed,
            alpha=0.9,
            temperature=1.0,
            transfer=data.x_unlabelled,
        )
        for k, m in (("plain", plain), ("kd", kd)):
            acc[k].append(loop.accuracy(m, data.x_test, data.y_test, steps=steps))
    assert np.mean(acc["kd"]) > np.mean(acc["plain"]), acc


def test_few_labels_bad_fraction_and_transfer_without_teacher(example):
    ex = example("distill")
    with pytest.raises(ValueError, match="fraction"):
        ex.few_labels(1.0)
    data = ex.few_labels(0.1, seed=0)
    with pytest.raises(ValueError, match="transfer"):
        ex.train_student(data, 2, None, hidden=4, epochs=1, transfer=data.x_unlabelled)


def test_claim_kd_beats_plain_on_shifted_digits(example):
    """Reduced examples/distill.py --task shifted (all labels): a translation-invariant CNN
    teacher far ahead of the SNN student; the KD student is more accurate on clean test data at
    T = 4 (full size, docs/learn.md: +9 to +11 points over 6 seeds; at this reduced size +4 to +9
    points on seeds 0-3, mean +7.2, about 3.5 std, so one seed and no margin)."""
    from spikecore.learn import loop

    ex = example("distill")
    steps = 4
    data = ex.shifted(0)
    assert data.x_train.shape == (1047, 144)
    teacher = ex.train_cnn_teacher(data.x_train, data.y_train, epochs=20, seed=0, side=12)
    assert ex.teacher_accuracy(teacher, data.x_test, data.y_test) > 0.85
    plain = ex.train_student(data, steps, None, hidden=128, epochs=30, seed=0)
    kd = ex.train_student(
        data, steps, teacher, hidden=128, epochs=30, seed=0, alpha=0.9, temperature=4.0
    )
    acc = {
        k: loop.accuracy(m, data.x_test, data.y_test, steps=steps)
        for k, m in (("plain", plain), ("kd", kd))
    }
    assert acc["kd"] > acc["plain"], acc
