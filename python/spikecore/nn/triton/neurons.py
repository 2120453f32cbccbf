r"""Triton kernels: multi-step LIF / NoisyLIF, adaptive LIF and leaky integrator, forward and
backward, the time loop inside the kernel (one launch per layer and sequence).

Equations (the C++ kernels' and spikecore.nn.reference's, same operation order):

.. math::

    h_t &= (d + \beta v_{t-1}) + x_t, \qquad s_t = h_t - \vartheta_t\ (+\ \epsilon_t) \\
    z_t &= H(s_t) \ \ (\text{smooth check mode: } g(s_t)) \\
    v_t &= h_t (1 - z_t) + v_\mathrm{reset} z_t \ \text{(hard)}, \quad
           h_t - (\vartheta_t - v_\mathrm{reset}) z_t \ \text{(soft)} \\
    a_t &= \rho a_{t-1} + \beta_a z_t, \quad \vartheta_t = \vartheta + a_{t-1} \ \text{(ALIF)}

Backward, reverse time with carried :math:`\bar v = \partial L / \partial v_t` (and
:math:`\bar a`): :math:`\bar z = \bar z^{out} + \beta_a \bar a + [\neg\mathrm{detach}]\,
\bar v\, \partial v/\partial z`, :math:`\bar s = \bar z\, g'(s)`,
:math:`\bar h = \bar v\, \partial v / \partial h + \bar s`, :math:`\bar x_t = \bar h`,
:math:`\bar v \leftarrow \beta \bar h`, :math:`\bar\beta \mathrel{+}= \bar h v_{t-1}`,
:math:`\bar d \mathrel{+}= \bar h`, :math:`\bar a \leftarrow \rho \bar a - \bar s
- [\mathrm{soft}] z \bar v`.

Saved for backward, as on CPU: the membrane trace h (and the threshold trace for ALIF); for
NoisyLIF the spikes as bits (1 bit per neuron and step, LSB first) instead of the noise.
"""

from __future__ import annotations

import math

import torch
import triton
import triton.language as tl

BLOCK = 128  # neurons per program (a multiple of 8: whole bytes of spike bits)
_PI = math.pi
_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT2PI = 1.0 / math.sqrt(2.0 * math.pi)


@triton.jit
def _sg_grad(x, alpha, KIND: tl.constexpr):
    ax = alpha * x
    if KIND == 0:  # atan
        q = 1.5707963267948966 * ax
        g = (0.5 * alpha) / (1.0 + q * q)
    elif KIND == 1:  # sigmoid
        s = 1.0 / (1.0 + tl.exp(-ax))
        g = alpha * s * (1.0 - s)
    elif KIND == 2:  # fast sigmoid
        r = 1.0 + tl.abs(ax)
        g = alpha / (2.0 * (r * r))
    elif KIND == 3:  # triangle
        g = alpha * tl.maximum(1.0 - tl.abs(ax), 0.0)
    elif KIND == 4:  # rectangle
        g = tl.where(tl.abs(ax) < 0.5, alpha, 0.0 * alpha)
    else:  # gaussian
        g = (alpha * 0.3989422804014327) * tl.exp(-0.5 * (ax * ax))
    return g


@triton.jit
def _sg_cdf(x, alpha, KIND: tl.constexpr):
    """Smooth step g (check mode); atan has no Triton form here and is never routed."""
    ax = alpha * x
    if KIND == 1:
        c = 1.0 / (1.0 + tl.exp(-ax))
    elif KIND == 2:
        c = 0.5 + 0.5 * ax / (1.0 + tl.abs(ax))
    elif KIND == 3:
        a = tl.minimum(tl.maximum(ax, -1.0), 1.0)
        c = tl.where(a < 0, 0.5 * ((1.0 + a) * (1.0 + a)), 1.0 - 0.5 * ((1.0 - a) * (1.0 - a)))
    elif KIND == 4:
        c = tl.minimum(tl.maximum(ax + 0.5, 0.0), 1.0)
    else:
        c = 0.5 * (1.0 + tl.math.erf(ax * 0.7071067811865476))
    return c


@triton.jit
def _lanes(N, BLOCK: tl.constexpr):
    """(program id, this program's neuron indices, in-range mask)."""
    pid = tl.program_id(0)
    offs = pid * BLOCK + tl.arange(0, BLOCK)
    return pid, offs, offs < N


@triton.jit
def _ld(ptr, offs, m):
    return tl.load(ptr + offs, mask=m, other=0.0)


@triton.jit
def _ld3(p0, p1, p2, offs, m):
    """Three per-neuron vectors (a kernel's initial states or parameters)."""
    return _ld(p0, offs, m), _ld(p1, offs, m), _ld(p2, offs, m)


@triton.jit
def _prologue(p0, p1, p2, N, BLOCK: tl.constexpr):
    """Every kernel's start: (pid, offs, mask) and three per-neuron vectors loaded."""
    pid, offs, m = _lanes(N, BLOCK)
    a, b, c = _ld3(p0, p1, p2, offs, m)
    return pid, offs, m, a, b, c


@triton.jit
def _ld_opt(ptr, offs, m, like, HAS: tl.constexpr):
    """An optional incoming gradient (``dL/d state_T``): loaded, or zeros like ``like``."""
    if HAS:
        g = _ld(ptr, offs, m)
    else:
        g = 0.0 * like
    return g


@triton.jit
def _row(t, N):
    """Offset of row t of a [T, N] tensor (int64: T N may exceed 2^31)."""
    return tl.cast(t, tl.int64) * N


@triton.jit
def _store_bits(bits_ptr, t, NB, pid, z, m, BLOCK: tl.constexpr):
    """Row t of the spike bits: this program's BLOCK spikes as BLOCK / 8 bytes, LSB first."""
    boffs = pid * (BLOCK // 8) + tl.arange(0, BLOCK // 8)
    zb = tl.where(m & (z > 0), 1, 0)
    w = tl.reshape(zb, (BLOCK // 8, 8)) << tl.arange(0, 8)[None, :]
    byte = tl.sum(w, axis=1).to(tl.uint8)
    tl.store(bits_ptr + _row(t, NB) + boffs, byte, mask=boffs < NB)


@triton.jit
def _load_bit(bits_ptr, brow, offs, m, like):
    """The spikes of row ``brow`` (an offset into the bits) as 0/1 in like's dtype."""
    byte = tl.load(bits_ptr + brow + offs // 8, mask=m, other=0).to(tl.int32)
    return ((byte >> (offs % 8)) & 1).to(like.dtype)


@triton.jit
def _step(s, alpha, KIND: tl.constexpr, SMOOTH: tl.constexpr):
    if SMOOTH:
        z = _sg_cdf(s, alpha, KIND)
    else:
        z = tl.where(s >= 0, 1.0, 0.0).to(s.dtype)
    return z


@triton.jit
def _branch_tile(t, N, offs, m, KB, KP: tl.constexpr):
    """(indices, mask) of the [BLOCK, KP] tile of branch inputs u[t, offs, 0:KB]."""
    k = tl.arange(0, KP)
    mk = m[:, None] & (k[None, :] < KB)
    idx = _row(t, N) * KB + offs[:, None] * KB + k[None, :]
    return idx, mk, k


@triton.jit
def _soma_input(
    x_ptr, am_ptr, t, N, offs, m, KB, G: tl.constexpr, KP: tl.constexpr, SAVE_AM: tl.constexpr
):
    r"""The soma's input at step t: x[t] (``G < 0``), or the dendritic branch sum
    :math:`y = \sum_k g(u_k)` of u[t, :, 0:KB] with g = relu (0), sigmoid (1), identity (2);
    ``SAVE_AM`` stores which ReLU branches are active as the bits of one integer per neuron."""
    if G < 0:
        x = _ld(x_ptr + _row(t, N), offs, m)
    else:
        idx, mk, k = _branch_tile(t, N, offs, m, KB, KP)
        u = tl.load(x_ptr + idx, mask=mk, other=0.0)
        if G == 0:
            gu = tl.maximum(u, 0.0)
        elif G == 1:
            gu = tl.where(mk, 1.0 / (1.0 + tl.exp(-u)), 0.0)
        else:
            gu = u
        x = tl.sum(gu, axis=1)
        if SAVE_AM:
            act = tl.sum(tl.where(mk & (u > 0), 1, 0) << k[None, :], axis=1)
            tl.store(am_ptr + _row(t, N) + offs, act.to(am_ptr.dtype.element_ty), mask=m)
    return x


@triton.jit
def _input_grad(
    gx_ptr,
    x_ptr,
    am_ptr,
    gh,
    t,
    N,
    offs,
    m,
    KB,
    G: tl.constexpr,
    KP: tl.constexpr,
    AM: tl.constexpr,
):
    """Store dL/dx[t] = gh, or for branch input dL/du[t, :, k] = gh g'(u_k) (ReLU: from the
    saved activity bits when ``AM``, else from u)."""
    if G < 0:
        tl.store(gx_ptr + _row(t, N) + offs, gh, mask=m)
    else:
        idx, mk, k = _branch_tile(t, N, offs, m, KB, KP)
        if G == 0:
            if AM:
                act = tl.load(am_ptr + _row(t, N) + offs, mask=m, other=0).to(tl.int32)
                d = ((act[:, None] >> k[None, :]) & 1).to(gh.dtype)
            else:
                d = tl.where(tl.load(x_ptr + idx, mask=mk, other=0.0) > 0, 1.0, 0.0)
        elif G == 1:
            s = 1.0 / (1.0 + tl.exp(-tl.load(x_ptr + idx, mask=mk, other=0.0)))
            d = s * (1.0 - s)
        else:
            d = tl.where(mk, 1.0, 0.0)
        tl.store(gx_ptr + idx, gh[:, None] * d.to(gh.dtype), mask=mk)


@triton.jit
def _lif_fwd(
    x_ptr,
    v0_ptr,
    b_ptr,
    d_ptr,
    e_ptr,
    z_ptr,
    h_ptr,
    vT_ptr,
    bits_ptr,
    am_ptr,
    T,
    N,
    NB,
    KB,
    v_th,
    v_reset,
    jump,
    alpha,
    SOFT: tl.constexpr,
    KIND: tl.constexpr,
    SMOOTH: tl.constexpr,
    HAS_EPS: tl.constexpr,
    SAVE_H: tl.constexpr,
    BITS: tl.constexpr,
    G: tl.constexpr,
    KP: tl.constexpr,
    SAVE_AM: tl.constexpr,
    BLOCK: tl.constexpr,
):
    pid, offs, m, v, beta, d = _prologue(v0_ptr, b_ptr, d_ptr, N, BLOCK)
    for t in range(T):
        row = _row(t, N)
        x = _soma_input(x_ptr, am_ptr, t, N, offs, m, KB, G, KP, SAVE_AM)
        h = (d + v * beta) + x
        s = h - v_th
        if HAS_EPS:
            s = s + _ld(e_ptr + row, offs, m)
        z = _step(s, alpha, KIND, SMOOTH)
        if SOFT:
            v = h - z * jump
        else:
            v = h * (1.0 - z) + z * v_reset
        tl.store(z_ptr + row + offs, z, mask=m)
        if SAVE_H:
            tl.store(h_ptr + row + offs, h, mask=m)
        if BITS:
            _store_bits(bits_ptr, t, NB, pid, z, m, BLOCK)
    tl.store(vT_ptr + offs, v, mask=m)


@triton.jit
def _lif_z(
    h,
    e_ptr,
    bits_ptr,
    row,
    brow,
    offs,
    m,
    v_th,
    alpha,
    KIND: tl.constexpr,
    SMOOTH: tl.constexpr,
    HAS_EPS: tl.constexpr,
    BITS: tl.constexpr,
):
    """(z, s_grad): the spike recomputed from the saved state, and the surrogate's argument."""
    s = h - v_th
    if BITS:
        z = _load_bit(bits_ptr, brow, offs, m, h)
        sg = s  # NDL gradient g'(h - v_th), the noise does not enter it
    elif HAS_EPS:  # smooth check mode with noise: g(s + eps), gradient g'(s + eps)
        sg = s + _ld(e_ptr + row, offs, m)
        z = _step(sg, alpha, KIND, SMOOTH)
    else:
        sg = s
        z = _step(s, alpha, KIND, SMOOTH)
    return z, sg


@triton.jit
def _lif_bwd(
    h_ptr,
    v0_ptr,
    gz_ptr,
    gvT_ptr,
    b_ptr,
    d_ptr,
    e_ptr,
    bits_ptr,
    x_ptr,
    am_ptr,
    gx_ptr,
    gv0_ptr,
    gb_ptr,
    gd_ptr,
    T,
    N,
    NB,
    KB,
    v_th,
    v_reset,
    jump,
    alpha,
    SOFT: tl.constexpr,
    DETACH: tl.constexpr,
    KIND: tl.constexpr,
    SMOOTH: tl.constexpr,
    HAS_EPS: tl.constexpr,
    BITS: tl.constexpr,
    HAS_GVT: tl.constexpr,
    G: tl.constexpr,
    KP: tl.constexpr,
    AM: tl.constexpr,
    BLOCK: tl.constexpr,
):
    pid, offs, m = _lanes(N, BLOCK)
    v0, beta = _ld(v0_ptr, offs, m), _ld(b_ptr, offs, m)
    gv = _ld_opt(gvT_ptr, offs, m, v0, HAS_GVT)
    gb, gd = 0.0 * v0, 0.0 * v0
    for i in range(T):
        t = T - 1 - i
        row = _row(t, N)
        brow = _row(t, NB)
        h = _ld(h_ptr + row, offs, m)
        z, sarg = _lif_z(
            h, e_ptr, bits_ptr, row, brow, offs, m, v_th, alpha, KIND, SMOOTH, HAS_EPS, BITS
        )
        gz = _ld(gz_ptr + row, offs, m)
        if SOFT:
            dvdh = 1.0 + 0.0 * h
            dvdz = -jump + 0.0 * h
        else:
            dvdh = 1.0 - z
            dvdz = v_reset - h
        if DETACH:
            gzt = gz
        else:
            gzt = gz + gv * dvdz
        gh = gv * dvdh + gzt * _sg_grad(sarg, alpha, KIND)
        _input_grad(gx_ptr, x_ptr, am_ptr, gh, t, N, offs, m, KB, G, KP, AM)
        # v_{t-1}: recomputed from the saved h_{t-1} (v_0 at t = 0)
        mp = m & (t > 0)
        hp = _ld(h_ptr + row - N, offs, mp)
        zp, _unused = _lif_z(
            hp,
            e_ptr,
            bits_ptr,
            row - N,
            brow - NB,
            offs,
            mp,
            v_th,
            alpha,
            KIND,
            SMOOTH,
            HAS_EPS,
            BITS,
        )
        if SOFT:
            vp = hp - zp * jump
        else:
            vp = hp * (1.0 - zp) + zp * v_reset
        vp = tl.where(t > 0, vp, v0)
        gb += gh * vp
        gd += gh
        gv = gh * beta
    tl.store(gv0_ptr + offs, gv, mask=m)
    tl.store(gb_ptr + offs, gb, mask=m)
    tl.store(gd_ptr + offs, gd, mask=m)


def _grid(n):
    return (triton.cdiv(n, BLOCK),)


def _empty(like):
    return torch.empty(1, dtype=like.dtype, device=like.device)


def _opt(t, like):
    """An optional tensor argument: contiguous, or a 1-element placeholder (never read)."""
    return _empty(like) if t is None else t.contiguous()


def _bits(steps, n, use, device):
    """The spike-bit buffer [steps, ceil(n / 8)] uint8 (a 1-byte placeholder when unused)."""
    return torch.empty(*((steps, (n + 7) // 8) if use else (1,)), dtype=torch.uint8, device=device)


def _flags(cfg, eps):
    """The compile-time settings every neuron kernel takes from an op's ``cfg``."""
    return {
        "KIND": cfg["kind"],
        "SMOOTH": cfg["smooth"],
        "HAS_EPS": eps is not None,
        "BLOCK": BLOCK,
    }


def _lif_scalars(steps, n, k, cfg):
    """(T, N, NB, KB, v_th, v_reset, jump, alpha) of a LIF kernel launch."""
    v_th, v_reset = cfg["v_th"], cfg["v_reset"]
    return steps, n, (n + 7) // 8, k, v_th, v_reset, v_th - v_reset, cfg["alpha"]


def _or_bits(bits, device):
    return _bits(0, 0, False, device) if bits is None else bits


# the dendritic soma (cfg["branch"] = (K, g)): branch activity bits per neuron and step, in the
# narrowest integer holding K bits; wider K saves u itself
_AM_DTYPES = ((8, torch.uint8), (16, torch.int16), (31, torch.int32))


def _branch(cfg):
    """(K, g index or -1, KP): the dendritic soma's settings, or a plain input."""
    k, g = cfg.get("branch", (1, -1))
    return k, g, triton.next_power_of_2(k)


def _am_buffer(steps, n, k, g, store, device):
    if g == 0 and store:
        for width, dt in _AM_DTYPES:
            if k <= width:
                return torch.empty(steps, n, dtype=dt, device=device)
    return None


def _lif_forward(x2, v0, beta, drive, eps, cfg, store):
    """One launch of the forward kernel: (z, h, vT, bits, am). ``store``: keep what backward
    needs (h; NoisyLIF's spikes as bits; a ReLU dendritic soma's branch activity bits)."""
    steps, n = x2.shape[0], v0.shape[0]
    k, g, kp = _branch(cfg)
    use_bits = store and eps is not None and not cfg["smooth"]
    z = x2.new_empty(steps, n)
    h = x2.new_empty(steps, n) if store else _empty(x2)
    vT = torch.empty_like(v0)
    bits = _bits(steps, n, use_bits, x2.device)
    am = _am_buffer(steps, n, k, g, store, x2.device)
    _lif_fwd[_grid(n)](
        x2,
        v0,
        beta.detach(),
        drive.detach(),
        _opt(eps, x2),
        z,
        h,
        vT,
        bits,
        _or_bits(am, x2.device),
        *_lif_scalars(steps, n, k, cfg),
        SOFT=cfg["soft"],
        **_flags(cfg, eps),
        SAVE_H=store,
        BITS=use_bits,
        G=g,
        KP=kp,
        SAVE_AM=am is not None,
    )
    return z, h, vT, (bits if use_bits else None), am


class LIFFn(torch.autograd.Function):
    """Same signature and results as spikecore.nn._kernels._LIFFn (the C++ kernel).

    With ``cfg["branch"] = (K, g)`` the input is a dendritic layer's branch input u [T, N K]
    (K branches per neuron, :math:`x_t = \\sum_k g(u_{t,k})`, g: 0 relu, 1 sigmoid, 2 identity)
    and the input gradient is dL/du; saved for g' are the ReLU activity bits (K <= 31) or u."""

    @staticmethod
    def forward(ctx, x2, v0, beta, drive, eps, cfg):
        z, h, vT, bits, am = _lif_forward(x2, v0, beta, drive, eps, cfg, True)
        g = _branch(cfg)[1]
        keep_u = g == 1 or (g == 0 and am is None)
        ctx.save_for_backward(
            h, v0, beta, drive, None if bits is not None else eps, bits, am, x2 if keep_u else None
        )
        ctx.cfg = cfg
        return z, vT

    @staticmethod
    def backward(ctx, gz, gvT):
        h, v0, beta, drive, eps, bits, am, u = ctx.saved_tensors
        cfg = ctx.cfg
        steps, n = h.shape
        k, g, kp = _branch(cfg)
        gz = torch.zeros_like(h) if gz is None else gz.contiguous()
        gx = h.new_empty(steps, n * k)
        gv0, gb, gd = (torch.empty_like(v0) for _ in range(3))
        _lif_bwd[_grid(n)](
            h,
            v0,
            gz,
            _opt(gvT, h),
            beta.detach(),
            drive.detach(),
            _opt(eps, h),
            _or_bits(bits, h.device),
            _opt(u, h),
            _or_bits(am, h.device),
            gx,
            gv0,
            gb,
            gd,
            *_lif_scalars(steps, n, k, cfg),
            SOFT=cfg["soft"],
            DETACH=cfg["detach"],
            **_flags(cfg, eps),
            BITS=bits is not None,
            HAS_GVT=gvT is not None,
            G=g,
            KP=kp,
            AM=am is not None,
        )
        return gx, gv0, _reduce(gb, beta), _reduce(gd, drive), None, None


def lif_inference(x2, v0, beta, drive, eps, cfg):
    """Forward only (no autograd node, no trace stored): (z, v_T)."""
    z, _, vT, _, _ = _lif_forward(x2, v0, beta, drive, eps, cfg, False)
    return z, vT


@triton.jit
def _alif_fwd(
    x_ptr,
    v0_ptr,
    a0_ptr,
    b_ptr,
    d_ptr,
    z_ptr,
    h_ptr,
    ap_ptr,
    vT_ptr,
    aT_ptr,
    T,
    N,
    v_th,
    v_reset,
    rho,
    beta_a,
    alpha,
    SOFT: tl.constexpr,
    KIND: tl.constexpr,
    SMOOTH: tl.constexpr,
    BLOCK: tl.constexpr,
):
    pid, offs, m, v, a, beta = _prologue(v0_ptr, a0_ptr, b_ptr, N, BLOCK)
    d = _ld(d_ptr, offs, m)
    for t in range(T):
        row = _row(t, N)
        x = _ld(x_ptr + row, offs, m)
        h = (d + v * beta) + x
        theta = a + v_th
        z = _step(h - theta, alpha, KIND, SMOOTH)
        if SOFT:
            v = h - z * (theta - v_reset)
        else:
            v = h * (1.0 - z) + z * v_reset
        tl.store(ap_ptr + row + offs, a, mask=m)
        a = a * rho + z * beta_a
        tl.store(z_ptr + row + offs, z, mask=m)
        tl.store(h_ptr + row + offs, h, mask=m)
    tl.store(vT_ptr + offs, v, mask=m)
    tl.store(aT_ptr + offs, a, mask=m)


@triton.jit
def _alif_bwd(
    h_ptr,
    ap_ptr,
    v0_ptr,
    gz_ptr,
    gvT_ptr,
    gaT_ptr,
    b_ptr,
    gx_ptr,
    gv0_ptr,
    ga0_ptr,
    gb_ptr,
    gd_ptr,
    T,
    N,
    v_th,
    v_reset,
    rho,
    beta_a,
    alpha,
    SOFT: tl.constexpr,
    DETACH: tl.constexpr,
    KIND: tl.constexpr,
    SMOOTH: tl.constexpr,
    HAS_GVT: tl.constexpr,
    HAS_GAT: tl.constexpr,
    BLOCK: tl.constexpr,
):
    pid, offs, m = _lanes(N, BLOCK)
    v0, beta = _ld(v0_ptr, offs, m), _ld(b_ptr, offs, m)
    gv = _ld_opt(gvT_ptr, offs, m, v0, HAS_GVT)
    ga = _ld_opt(gaT_ptr, offs, m, v0, HAS_GAT)
    gb, gd = 0.0 * v0, 0.0 * v0
    for i in range(T):
        t = T - 1 - i
        row = _row(t, N)
        h = _ld(h_ptr + row, offs, m)
        theta = _ld(ap_ptr + row, offs, m) + v_th
        s = h - theta
        z = _step(s, alpha, KIND, SMOOTH)
        gz = _ld(gz_ptr + row, offs, m)
        if SOFT:
            dvdh = 1.0 + 0.0 * h
            dvdz = v_reset - theta
        else:
            dvdh = 1.0 - z
            dvdz = v_reset - h
        gzt = gz + ga * beta_a
        if not DETACH:
            gzt = gzt + gv * dvdz
        gs = gzt * _sg_grad(s, alpha, KIND)
        gh = gv * dvdh + gs
        ga_prev = ga * rho - gs
        if SOFT:
            ga_prev = ga_prev - z * gv
        tl.store(gx_ptr + row + offs, gh, mask=m)
        mp = m & (t > 0)
        hp = _ld(h_ptr + row - N, offs, mp)
        thp = _ld(ap_ptr + row - N, offs, mp) + v_th
        zp = _step(hp - thp, alpha, KIND, SMOOTH)
        if SOFT:
            vp = hp - zp * (thp - v_reset)
        else:
            vp = hp * (1.0 - zp) + zp * v_reset
        vp = tl.where(t > 0, vp, v0)
        gb += gh * vp
        gd += gh
        gv = gh * beta
        ga = ga_prev
    tl.store(gv0_ptr + offs, gv, mask=m)
    tl.store(ga0_ptr + offs, ga, mask=m)
    tl.store(gb_ptr + offs, gb, mask=m)
    tl.store(gd_ptr + offs, gd, mask=m)


class ALIFFn(torch.autograd.Function):
    """Same signature and results as spikecore.nn._kernels._ALIFFn."""

    @staticmethod
    def forward(ctx, x2, v0, a0, beta, drive, cfg):
        steps, n = x2.shape
        z, h, ap = (torch.empty_like(x2) for _ in range(3))
        vT, aT = torch.empty_like(v0), torch.empty_like(v0)
        _alif_fwd[_grid(n)](
            x2,
            v0,
            a0,
            beta.detach(),
            drive.detach(),
            z,
            h,
            ap,
            vT,
            aT,
            steps,
            n,
            cfg["v_th"],
            cfg["v_reset"],
            cfg["rho"],
            cfg["beta_a"],
            cfg["alpha"],
            SOFT=cfg["soft"],
            KIND=cfg["kind"],
            SMOOTH=cfg["smooth"],
            BLOCK=BLOCK,
        )
        ctx.save_for_backward(h, ap, v0, beta, drive)
        ctx.cfg = cfg
        return z, vT, aT

    @staticmethod
    def backward(ctx, gz, gvT, gaT):
        h, ap, v0, beta, drive = ctx.saved_tensors
        cfg = ctx.cfg
        steps, n = h.shape
        gz = torch.zeros_like(h) if gz is None else gz.contiguous()
        gx = torch.empty_like(h)
        gv0, ga0, gb, gd = (torch.empty_like(v0) for _ in range(4))
        _alif_bwd[_grid(n)](
            h,
            ap,
            v0,
            gz,
            _opt(gvT, h),
            _opt(gaT, h),
            beta.detach(),
            gx,
            gv0,
            ga0,
            gb,
            gd,
            steps,
            n,
            cfg["v_th"],
            cfg["v_reset"],
            cfg["rho"],
            cfg["beta_a"],
            cfg["alpha"],
            SOFT=cfg["soft"],
            DETACH=cfg["detach"],
            KIND=cfg["kind"],
            SMOOTH=cfg["smooth"],
            HAS_GVT=gvT is not None,
            HAS_GAT=gaT is not None,
            BLOCK=BLOCK,
        )
        return gx, gv0, ga0, _reduce(gb, beta), _reduce(gd, drive), None


@triton.jit
def _li_fwd(x_ptr, v0_ptr, b_ptr, d_ptr, out_ptr, T, N, BLOCK: tl.constexpr):
    pid, offs, m, v, beta, d = _prologue(v0_ptr, b_ptr, d_ptr, N, BLOCK)
    for t in range(T):
        row = _row(t, N)
        v = (d + v * beta) + _ld(x_ptr + row, offs, m)
        tl.store(out_ptr + row + offs, v, mask=m)


@triton.jit
def _li_bwd(
    out_ptr, v0_ptr, g_ptr, b_ptr, gx_ptr, gv0_ptr, gb_ptr, gd_ptr, T, N, BLOCK: tl.constexpr
):
    pid, offs, m = _lanes(N, BLOCK)
    v0, beta = _ld(v0_ptr, offs, m), _ld(b_ptr, offs, m)
    gv, gb, gd = 0.0 * v0, 0.0 * v0, 0.0 * v0
    for i in range(T):
        t = T - 1 - i
        row = _row(t, N)
        gv = gv + _ld(g_ptr + row, offs, m)
        tl.store(gx_ptr + row + offs, gv, mask=m)
        vp = _ld(out_ptr + row - N, offs, m & (t > 0))
        vp = tl.where(t > 0, vp, v0)
        gb += gv * vp
        gd += gv
        gv = gv * beta
    tl.store(gv0_ptr + offs, gv, mask=m)
    tl.store(gb_ptr + offs, gb, mask=m)
    tl.store(gd_ptr + offs, gd, mask=m)


class LIFn(torch.autograd.Function):
    """Same signature and results as spikecore.nn._kernels._LIFn (leaky integrator)."""

    @staticmethod
    def forward(ctx, x2, v0, beta, drive):
        steps, n = x2.shape
        out = torch.empty_like(x2)
        _li_fwd[_grid(n)](x2, v0, beta.detach(), drive.detach(), out, steps, n, BLOCK=BLOCK)
        ctx.save_for_backward(out, v0, beta, drive)
        return out

    @staticmethod
    def backward(ctx, gout):
        out, v0, beta, drive = ctx.saved_tensors
        steps, n = out.shape
        gx = torch.empty_like(out)
        gv0, gb, gd = (torch.empty_like(v0) for _ in range(3))
        _li_bwd[_grid(n)](
            out, v0, gout.contiguous(), beta.detach(), gx, gv0, gb, gd, steps, n, BLOCK=BLOCK
        )
        return gx, gv0, _reduce(gb, beta), _reduce(gd, drive)


def _reduce(g, like):
    return g if like.numel() == g.numel() else g.sum().reshape(like.shape)


def supports(sg) -> bool:
    """Built-in surrogates; the smooth check mode of atan has no Triton form here."""
    return sg is None or (getattr(sg, "kind", -1) >= 0 and not (sg.smooth and sg.kind == 0))
