r"""Triton kernels: multi-step CE-LIF forward and backward (one launch per layer and sequence,
the time loop inside the kernel), the GPU form of the C++ kernels in train/celif_kernels.inl.

Equations and operation order (spikecore.nn.celif.celif_reference, celif_pre / celif_post):

.. math::

    h_t &= \beta v_{t-1} + I_t, \qquad c_t = \lambda_c c_{t-1} + (1 - \lambda_c) q_t \\
    x_t &= h_t - \big((\beta_a a_{t-1} + \vartheta_0) + \gamma c_t\big), \qquad
    z_t = H(x_t\ (+\ \epsilon_t)) \ \ (\text{smooth check mode: } g(\cdot)) \\
    v_t &= h_t (1 - z_t), \qquad a_t = \rho a_{t-1} + (1 - \rho) z_t

Backward, reverse time with carried :math:`\bar v, \bar a, \bar c` (the C++ bwd_step):
:math:`\bar z = \bar z^{out} + (1-\rho)\bar a - [\neg\mathrm{detach}]\, \bar v h_t`,
:math:`\bar s = \bar z\, g'(x_t)`, :math:`\bar h = \bar s + \bar v (1 - z_t)`,
:math:`\bar\beta \mathrel{+}= \bar h v_{t-1}`, :math:`\bar v \leftarrow \beta \bar h`,
:math:`\bar a \leftarrow \rho \bar a - \beta_a \bar s`, :math:`\bar c_t = \bar c - \gamma \bar s`,
:math:`\bar q_t = (1 - \lambda_c) \bar c_t`, :math:`\bar I_t = \bar h` (plus :math:`\bar q_t`
when the context is the current), :math:`\bar\lambda_c \mathrel{+}= \bar c_t c_{t-1}`,
:math:`\overline{(1-\lambda_c)} \mathrel{+}= \bar c_t q_t`, :math:`\bar c \leftarrow \lambda_c
\bar c_t`.

Saved for backward: the traces h, x and c [T, N] (the CPU kernel recomputes them instead; on a
GPU the extra reads are cheaper than a second forward pass), and for NDL training the spikes as
bits (1 bit per neuron and step) instead of the noise. :math:`v_{t-1} = h_{t-1}(1 - z_{t-1})` is
recomputed from them.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from ..celif import _reduce
from .neurons import (
    _bits,
    _empty,
    _flags,
    _grid,
    _ld,
    _ld3,
    _ld_opt,
    _lif_z,
    _opt,
    _or_bits,
    _prologue,
    _row,
    _sg_grad,
    _step,
    _store_bits,
    supports,
)

__all__ = ["CELIFFn", "supports"]


@triton.jit
def _celif_fwd(
    I_ptr,
    q_ptr,
    v0_ptr,
    a0_ptr,
    c0_ptr,
    b_ptr,
    l_ptr,
    ol_ptr,
    e_ptr,
    z_ptr,
    H_ptr,
    X_ptr,
    C_ptr,
    bits_ptr,
    vT_ptr,
    aT_ptr,
    cT_ptr,
    T,
    N,
    NB,
    rho,
    omr,
    beta_a,
    gamma,
    v_th,
    alpha,
    KIND: tl.constexpr,
    SMOOTH: tl.constexpr,
    HAS_EPS: tl.constexpr,
    TRACE: tl.constexpr,
    BITS: tl.constexpr,
    BLOCK: tl.constexpr,
):
    pid, offs, m, v, a, c = _prologue(v0_ptr, a0_ptr, c0_ptr, N, BLOCK)
    beta, lam, oml = _ld3(b_ptr, l_ptr, ol_ptr, offs, m)
    for t in range(T):
        row = _row(t, N)
        h = v * beta + _ld(I_ptr + row, offs, m)
        c = c * lam + oml * _ld(q_ptr + row, offs, m)
        x = h - ((a * beta_a + v_th) + c * gamma)
        y = x
        if HAS_EPS:
            y = y + _ld(e_ptr + row, offs, m)
        z = _step(y, alpha, KIND, SMOOTH)
        v = h * (1.0 - z)
        a = a * rho + omr * z
        tl.store(z_ptr + row + offs, z, mask=m)
        if TRACE:
            tl.store(H_ptr + row + offs, h, mask=m)
            tl.store(X_ptr + row + offs, x, mask=m)
            tl.store(C_ptr + row + offs, c, mask=m)
        if BITS:
            _store_bits(bits_ptr, t, NB, pid, z, m, BLOCK)
    tl.store(vT_ptr + offs, v, mask=m)
    tl.store(aT_ptr + offs, a, mask=m)
    tl.store(cT_ptr + offs, c, mask=m)


@triton.jit
def _celif_z(X_ptr, e_ptr, bits_ptr, row, brow, offs, m, alpha, KIND, SMOOTH, HAS_EPS, BITS):
    """(z_t, the surrogate's argument) from the saved trace x: bits (NDL), x + eps (smooth NDL
    check mode) or x (neurons._lif_z with a zero threshold: x already holds h - theta)."""
    x = _ld(X_ptr + row, offs, m)
    return _lif_z(x, e_ptr, bits_ptr, row, brow, offs, m, 0.0, alpha, KIND, SMOOTH, HAS_EPS, BITS)


@triton.jit
def _celif_bwd(
    q_ptr,
    H_ptr,
    X_ptr,
    C_ptr,
    e_ptr,
    bits_ptr,
    v0_ptr,
    c0_ptr,
    gz_ptr,
    gvT_ptr,
    gaT_ptr,
    gcT_ptr,
    b_ptr,
    l_ptr,
    ol_ptr,
    gI_ptr,
    gq_ptr,
    gv0_ptr,
    ga0_ptr,
    gc0_ptr,
    gb_ptr,
    gl_ptr,
    gol_ptr,
    T,
    N,
    NB,
    rho,
    omr,
    beta_a,
    gamma,
    alpha,
    KIND: tl.constexpr,
    SMOOTH: tl.constexpr,
    HAS_EPS: tl.constexpr,
    BITS: tl.constexpr,
    DETACH: tl.constexpr,
    SHARED: tl.constexpr,
    HAS_GVT: tl.constexpr,
    HAS_GAT: tl.constexpr,
    HAS_GCT: tl.constexpr,
    BLOCK: tl.constexpr,
):
    pid, offs, m, beta, lam, oml = _prologue(b_ptr, l_ptr, ol_ptr, N, BLOCK)
    v0, c0 = _ld(v0_ptr, offs, m), _ld(c0_ptr, offs, m)
    gv = _ld_opt(gvT_ptr, offs, m, v0, HAS_GVT)
    ga = _ld_opt(gaT_ptr, offs, m, v0, HAS_GAT)
    gc = _ld_opt(gcT_ptr, offs, m, v0, HAS_GCT)
    gb, gl, gol = 0.0 * v0, 0.0 * v0, 0.0 * v0
    for i in range(T):
        t = T - 1 - i
        row = _row(t, N)
        brow = _row(t, NB)
        h = _ld(H_ptr + row, offs, m)
        z, sarg = _celif_z(
            X_ptr, e_ptr, bits_ptr, row, brow, offs, m, alpha, KIND, SMOOTH, HAS_EPS, BITS
        )
        s = _sg_grad(sarg, alpha, KIND)
        gzz = _ld(gz_ptr + row, offs, m) + omr * ga
        if not DETACH:
            gzz = gzz - gv * h
        gzs = gzz * s
        gh = gzs + gv * (1.0 - z)
        # v_{t-1} = h_{t-1} (1 - z_{t-1}) (v_0 at t = 0), c_{t-1} from the trace (c_0 at t = 0)
        mp = m & (t > 0)
        hp = _ld(H_ptr + row - N, offs, mp)
        zp, _unused = _celif_z(
            X_ptr, e_ptr, bits_ptr, row - N, brow - NB, offs, mp, alpha, KIND, SMOOTH, HAS_EPS, BITS
        )
        vp = tl.where(t > 0, hp * (1.0 - zp), v0)
        cp = tl.where(t > 0, _ld(C_ptr + row - N, offs, mp), c0)
        gb += gh * vp
        gv = gh * beta
        ga = ga * rho - gzs * beta_a
        gct = gc - gzs * gamma
        gqq = gct * oml
        if SHARED:
            tl.store(gI_ptr + row + offs, gh + gqq, mask=m)
        else:
            tl.store(gI_ptr + row + offs, gh, mask=m)
            tl.store(gq_ptr + row + offs, gqq, mask=m)
        gl += gct * cp
        gol += gct * _ld(q_ptr + row, offs, m)
        gc = gct * lam
    tl.store(gv0_ptr + offs, gv, mask=m)
    tl.store(ga0_ptr + offs, ga, mask=m)
    tl.store(gc0_ptr + offs, gc, mask=m)
    tl.store(gb_ptr + offs, gb, mask=m)
    tl.store(gl_ptr + offs, gl, mask=m)
    tl.store(gol_ptr + offs, gol, mask=m)


def _per_neuron(p: torch.Tensor, n: int) -> torch.Tensor:
    return p.detach().expand(n).contiguous() if p.numel() == 1 else p.detach().contiguous()


def _scalars(cfg) -> tuple:
    return cfg["rho"], cfg["omr"], cfg["beta_a"], cfg["gamma"]


class CELIFFn(torch.autograd.Function):
    """Same signature and results as spikecore.nn.celif._CELIFFn (the C++ kernel) for
    ``bias=None`` (the Triton route never fuses a bias: CUDA inputs take the unfused path)."""

    @staticmethod
    def forward(ctx, I, q, v0, a0, c0, beta, lam, omlam, bias, eps, cfg):
        z = I.new_empty(I.shape[0], v0.shape[0])
        vT, aT, cT = (torch.empty_like(v0) for _ in range(3))
        H, X, C, bits = CELIFFn.run_forward(
            I, q, v0, a0, c0, beta, lam, omlam, bias, eps, cfg, z, vT, aT, cT, trace=True
        )
        ctx.save_for_backward(
            q if q is not None else I,
            H,
            X,
            C,
            None if bits is not None else eps,
            bits,
            v0,
            c0,
            beta,
            lam,
            omlam,
        )
        ctx.shared = q is None
        ctx.cfg = cfg
        return z, vT, aT, cT

    @staticmethod
    def run_forward(I, q, v0, a0, c0, beta, lam, omlam, bias, eps, cfg, z, vT, aT, cT, trace=False):
        if bias is not None:
            raise ValueError("bias: the Triton CE-LIF kernel takes no fused bias")
        steps, n = I.shape
        nb = (n + 7) // 8
        use_bits = trace and eps is not None and not cfg["smooth"]
        H, X, C = (I.new_empty(steps, n) if trace else _empty(I) for _ in range(3))
        bits = _bits(steps, n, use_bits, I.device)
        rho, omr, beta_a, gamma = _scalars(cfg)
        _celif_fwd[_grid(n)](
            I.detach(),
            (I if q is None else q).detach(),
            v0.detach().contiguous(),
            a0.detach().contiguous(),
            c0.detach().contiguous(),
            _per_neuron(beta, n),
            _per_neuron(lam, n),
            _per_neuron(omlam, n),
            _empty(I) if eps is None else eps,
            z,
            H,
            X,
            C,
            bits,
            vT,
            aT,
            cT,
            steps,
            n,
            nb,
            rho,
            omr,
            beta_a,
            gamma,
            cfg["v_th"],
            cfg["alpha"],
            TRACE=trace,
            BITS=use_bits,
            **_flags(cfg, eps),
        )
        return H, X, C, (bits if use_bits else None)

    @staticmethod
    def backward(ctx, gz, gvT, gaT, gcT):
        q, H, X, C, eps, bits, v0, c0, beta, lam, omlam = ctx.saved_tensors
        cfg = ctx.cfg
        steps, n = H.shape
        e = _empty(H)
        gz = H.new_zeros(steps, n) if gz is None else gz.contiguous()
        gI = torch.empty_like(H)
        gq = e if ctx.shared else torch.empty_like(H)
        gv0, ga0, gc0, gb, gl, gol = (H.new_empty(n) for _ in range(6))
        rho, omr, beta_a, gamma = _scalars(cfg)
        _celif_bwd[_grid(n)](
            q.detach(),
            H,
            X,
            C,
            e if eps is None else eps,
            _or_bits(bits, H.device),
            v0.detach().contiguous(),
            c0.detach().contiguous(),
            gz,
            _opt(gvT, H),
            _opt(gaT, H),
            _opt(gcT, H),
            _per_neuron(beta, n),
            _per_neuron(lam, n),
            _per_neuron(omlam, n),
            gI,
            gq,
            gv0,
            ga0,
            gc0,
            gb,
            gl,
            gol,
            steps,
            n,
            (n + 7) // 8,
            rho,
            omr,
            beta_a,
            gamma,
            cfg["alpha"],
            BITS=bits is not None,
            DETACH=cfg["detach"],
            SHARED=ctx.shared,
            HAS_GVT=gvT is not None,
            HAS_GAT=gaT is not None,
            HAS_GCT=gcT is not None,
            **_flags(cfg, eps),
        )
        need = ctx.needs_input_grad
        return (
            gI,
            None if ctx.shared else gq,
            gv0,
            ga0,
            gc0,
            _reduce(gb, beta) if need[5] else None,
            _reduce(gl, lam) if need[6] else None,
            _reduce(gol, omlam) if need[7] else None,
            None,
            None,
            None,
        )
