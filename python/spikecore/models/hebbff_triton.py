r"""HebbFF plastic recurrence as fused Triton kernels (CUDA tensors; ``SPIKECORE_TRITON=interpret``
runs them on CPU tensors in Triton's interpreter, as the tests do).

Forward, one program per (batch item, block of hidden rows), the plastic matrix block in
registers and the time loop inside the kernel:

.. math::

    a_t = W_1 x_t + A_t x_t + b_1, \quad h_t = \sigma(a_t), \quad
    A_{t+1} = \lambda A_t + \eta\, h_t x_t^\top, \quad A_0 = 0

(rows of A are independent, so a block of rows needs no other program). Every K-th
:math:`A_t` is checkpointed. Backward, reverse time per segment of K steps: the segment's
:math:`A_t` are recomputed from its checkpoint, then, with :math:`G_{t+1} = \partial L/\partial
A_{t+1}`,

.. math::

    \bar a_t &= \bar a^{out}_t + \eta\, (G_{t+1} x_t) \odot h_t (1 - h_t), \qquad
    G_t = \lambda G_{t+1} + \bar a_t x_t^\top \\
    \bar W_1 &\mathrel{+}= \bar a_t x_t^\top, \quad \bar b_1 \mathrel{+}= \bar a_t, \quad
    \bar x_t = (W_1 + A_t)^\top \bar a_t + \eta\, G_{t+1}^\top h_t \\
    \bar\eta &\mathrel{+}= h_t \cdot (G_{t+1} x_t), \quad
    \bar\lambda \mathrel{+}= \langle G_{t+1}, A_t \rangle

Partial sums over programs (the input gradient over row blocks, the weight gradient over the
batch, the scalar gradients) are added up in torch afterwards.
"""

from __future__ import annotations

import math

import torch
import triton
import triton.language as tl


@triton.jit
def _fwd(
    x_ptr,
    w_ptr,
    b_ptr,
    a_ptr,
    ck_ptr,
    T,
    B,
    N,
    D,
    eta,
    lam,
    K,
    BN: tl.constexpr,
    BD: tl.constexpr,
    SAVE: tl.constexpr,
):
    b = tl.program_id(0)
    rb = tl.program_id(1)
    rows = rb * BN + tl.arange(0, BN)
    cols = tl.arange(0, BD)
    mr = rows < N
    mc = cols < D
    m2 = mr[:, None] & mc[None, :]
    W = tl.load(w_ptr + rows[:, None] * D + cols[None, :], mask=m2, other=0.0)
    bias = tl.load(b_ptr + rows, mask=mr, other=0.0)
    A = 0.0 * W
    nblk = tl.num_programs(1)
    for t in range(T):
        if SAVE:
            if t % K == 0:
                base = ((t // K) * B + b) * nblk + rb
                tl.store(
                    ck_ptr
                    + base.to(tl.int64) * (BN * BD)
                    + tl.arange(0, BN)[:, None] * BD
                    + cols[None, :],
                    A,
                )
        xt = tl.load(x_ptr + (t * B + b).to(tl.int64) * D + cols, mask=mc, other=0.0)
        a = tl.sum(W * xt[None, :], axis=1) + tl.sum(A * xt[None, :], axis=1) + bias
        tl.store(a_ptr + (t * B + b).to(tl.int64) * N + rows, a, mask=mr)
        h = 1.0 / (1.0 + tl.exp(-a))
        A = lam * A + (eta * h)[:, None] * xt[None, :]


@triton.jit
def _bwd(
    x_ptr,
    w_ptr,
    a_ptr,
    ck_ptr,
    sc_ptr,
    ga_ptr,
    gx_ptr,
    gw_ptr,
    gb_ptr,
    gs_ptr,
    T,
    B,
    N,
    D,
    eta,
    lam,
    K,
    NSEG,
    BN: tl.constexpr,
    BD: tl.constexpr,
):
    b = tl.program_id(0)
    rb = tl.program_id(1)
    nblk = tl.num_programs(1)
    rows = rb * BN + tl.arange(0, BN)
    cols = tl.arange(0, BD)
    lr = tl.arange(0, BN)
    mr = rows < N
    mc = cols < D
    m2 = mr[:, None] & mc[None, :]
    W = tl.load(w_ptr + rows[:, None] * D + cols[None, :], mask=m2, other=0.0)
    G = 0.0 * W  # dL/dA_{t+1}
    gW = 0.0 * W
    gb = tl.sum(0.0 * W, axis=1)
    geta = tl.sum(gb, axis=0)
    glam = geta
    prog = (b * nblk + rb).to(tl.int64)
    scratch = sc_ptr + prog * K * (BN * BD) + lr[:, None] * BD + cols[None, :]
    for i in range(NSEG):
        s = NSEG - 1 - i
        base = ((s * B + b) * nblk + rb).to(tl.int64)
        A = tl.load(ck_ptr + base * (BN * BD) + lr[:, None] * BD + cols[None, :])
        # recompute this segment's A_t (t = s K + k) into the program's scratch
        for k in range(K):
            t = s * K + k
            if t < T:
                tl.store(scratch + k * (BN * BD), A)
                xt = tl.load(x_ptr + (t * B + b).to(tl.int64) * D + cols, mask=mc, other=0.0)
                a = tl.load(a_ptr + (t * B + b).to(tl.int64) * N + rows, mask=mr, other=0.0)
                h = 1.0 / (1.0 + tl.exp(-a))
                A = lam * A + (eta * h)[:, None] * xt[None, :]
        for j in range(K):
            k = K - 1 - j
            t = s * K + k
            if t < T:
                A = tl.load(scratch + k * (BN * BD))
                row = (t * B + b).to(tl.int64)
                xt = tl.load(x_ptr + row * D + cols, mask=mc, other=0.0)
                a = tl.load(a_ptr + row * N + rows, mask=mr, other=0.0)
                h = 1.0 / (1.0 + tl.exp(-a))
                gx_t = tl.sum(G * xt[None, :], axis=1)  # (G_{t+1} x_t) per row
                ga = tl.load(ga_ptr + row * N + rows, mask=mr, other=0.0)
                ga = ga + eta * gx_t * h * (1.0 - h)
                geta += tl.sum(h * gx_t, axis=0)
                glam += tl.sum(tl.sum(G * A, axis=1), axis=0)
                gxi = tl.sum((W + A) * ga[:, None], axis=0) + eta * tl.sum(G * h[:, None], axis=0)
                tl.store(gx_ptr + (rb * T * B + t * B + b).to(tl.int64) * D + cols, gxi, mask=mc)
                G = lam * G + ga[:, None] * xt[None, :]
                gW += ga[:, None] * xt[None, :]
                gb += ga
    tl.store(gw_ptr + (b * N + rows[:, None]).to(tl.int64) * D + cols[None, :], gW, mask=m2)
    tl.store(gb_ptr + b * N + rows, gb, mask=mr)
    tl.store(gs_ptr + prog * 2, geta)
    tl.store(gs_ptr + prog * 2 + 1, glam)


def _blocks(N: int, d: int):
    BD = triton.next_power_of_2(d)
    BN = max(1, min(triton.next_power_of_2(N), max(1, 4096 // BD)))
    return BN, BD


class HebbFFTriton(torch.autograd.Function):
    """Same signature and results (to float rounding) as hebbff.HebbFFPlastic."""

    @staticmethod
    def forward(ctx, x, W1, b1, eta, lam):
        x, W1, b1 = (t.detach().contiguous() for t in (x, W1, b1))
        T, B, d = x.shape
        N = W1.shape[0]
        BN, BD = _blocks(N, d)
        nblk = triton.cdiv(N, BN)
        K = max(1, math.isqrt(max(T, 1)))
        nseg = triton.cdiv(T, K)
        a = x.new_empty(T, B, N)
        ck = x.new_empty(nseg, B, nblk, BN, BD)
        e, l_ = float(eta), float(lam)
        _fwd[(B, nblk)](x, W1, b1, a, ck, T, B, N, d, e, l_, K, BN=BN, BD=BD, SAVE=True)
        ctx.save_for_backward(x, W1, a, ck)
        ctx.cfg = (e, l_, K, nseg, BN, BD, nblk)
        return a

    @staticmethod
    def backward(ctx, g_a):
        x, W1, a, ck = ctx.saved_tensors
        e, l_, K, nseg, BN, BD, nblk = ctx.cfg
        T, B, d = x.shape
        N = W1.shape[0]
        sc = x.new_empty(B * nblk, K, BN, BD)
        gx = x.new_empty(nblk, T, B, d)
        gw = x.new_empty(B, N, d)
        gb = x.new_empty(B, N)
        gs = x.new_empty(B * nblk, 2)
        _bwd[(B, nblk)](
            x,
            W1,
            a,
            ck,
            sc,
            g_a.contiguous(),
            gx,
            gw,
            gb,
            gs,
            T,
            B,
            N,
            d,
            e,
            l_,
            K,
            nseg,
            BN=BN,
            BD=BD,
        )
        g = gs.sum(0)
        return gx.sum(0), gw.sum(0), gb.sum(0), g[0], g[1]


def hebbff_plastic(x, W1, b1, eta, lam):
    """``a [T, B, N]`` through the Triton kernels (inputs validated by the caller)."""
    if torch.is_grad_enabled() and any(t.requires_grad for t in (x, W1, b1, eta, lam)):
        return HebbFFTriton.apply(x, W1, b1, eta.reshape(()), lam.reshape(()))
    x, W1, b1 = (t.detach().contiguous() for t in (x, W1, b1))
    T, B, d = x.shape
    N = W1.shape[0]
    BN, BD = _blocks(N, d)
    a = x.new_empty(T, B, N)
    _fwd[(B, triton.cdiv(N, BN))](
        x, W1, b1, a, a, T, B, N, d, float(eta), float(lam), 1, BN=BN, BD=BD, SAVE=False
    )
    return a
