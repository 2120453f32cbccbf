// The neuron update of one thread block of a population and step: source firing and external
// input (inputs.cpp), the dendritic branch stage, then the LIF / ALIF / CE-LIF block step.
#include "spikecore/engine/network.hpp"

#include <algorithm>
#include <vector>

namespace spikecore {

namespace {

// Update neurons [lo, hi) with this step's input (read and cleared from the ring slot) and
// collect the spiking ones. Two passes: the neuron step over a chunk writes spike flags (no
// push_back inside, so the compiler can vectorise the shared lif_step / alif_step), then the
// flags are gathered in neuron order.
// Branch-free LIF chunk: the same float operations in the same order as lif_step<K> (so results
// are bitwise equal), with the refractory and threshold branches written as selects so that the
// loop vectorises. Spike flags are int32 so every array in the loop has 4-byte lanes.
template <SynapseKind K, bool Cur, bool Soft>
inline void lif_chunk(const LIFCoeffs& c, int32_t b, int32_t n, float* __restrict v,
                      float* __restrict iex, float* __restrict iin, int32_t* __restrict ref,
                      float* __restrict in0, float* __restrict in1, const float* __restrict cur,
                      float scale, int32_t* __restrict flag) {
  const float vd = c.v_drive, p22 = c.p22, p21ex = c.p21ex, p21in = c.p21in;
  const float p11ex = c.p11ex, p11in = c.p11in, vr = c.v_reset, vth = c.v_th;
  const float jump = c.reset_jump;
  const int32_t nref = c.n_ref;
  v += b; iex += b; iin += b; ref += b; in0 += b;
  if (K == SynapseKind::Exp) in1 += b;
  if (Cur) cur += b;
  for (int32_t k = 0; k < n; ++k) {
    const float x0 = in0[k];
    in0[k] = 0.f;
    const float drive = Cur ? cur[k] * scale : 0.f;
    const int32_t r = ref[k];
    const bool refr = r > 0;
    float vi = v[k];
    int32_t s;
    if constexpr (K == SynapseKind::Exp) {
      const float x1 = in1[k];
      in1[k] = 0.f;
      const float ei = iex[k], ii = iin[k];
      const float vn = (vd + drive) + vi * p22 + ei * p21ex + ii * p21in;
      vi = refr ? vr : vn;
      iex[k] = ei * p11ex + x0;
      iin[k] = ii * p11in + x1;
      s = vi >= vth ? 1 : 0;
    } else {
      const float vn = (vd + drive) + vi * p22 + x0;
      vi = refr ? vr : vn;
      s = (!refr && vi >= vth) ? 1 : 0;
    }
    const float vs = Soft ? vi - jump : vr;
    v[k] = s ? vs : vi;
    ref[k] = s ? nref : (refr ? r - 1 : r);
    flag[k] = s;
  }
}

template <SynapseKind K, bool Adapt, bool Cur>
void update_range(Population& p, int32_t lo, int32_t hi, float* in0, float* in1, const float* cur,
                  std::vector<int32_t>& out) {
  if constexpr (!Adapt) {
    constexpr int C = 512;
    alignas(64) int32_t flag[C];
    const LIFCoeffs& lc = p.c.lif;
    for (int32_t b = lo; b < hi; b += C) {
      const int32_t n = std::min(C, hi - b);
      if (lc.soft_reset)
        lif_chunk<K, Cur, true>(lc, b, n, p.s.v.data(), p.s.i_ex.data(), p.s.i_in.data(),
                                p.s.ref.data(), in0, in1, cur, p.cur_scale, flag);
      else
        lif_chunk<K, Cur, false>(lc, b, n, p.s.v.data(), p.s.i_ex.data(), p.s.i_in.data(),
                                 p.s.ref.data(), in0, in1, cur, p.cur_scale, flag);
      // gather in neuron order, skipping silent groups of 16 with one vector test
      for (int32_t k = n; k < ((n + 15) & ~15); ++k) flag[k] = 0;
      for (int32_t g = 0; g < n; g += 16) {
        int32_t any = 0;
        for (int32_t k = 0; k < 16; ++k) any |= flag[g + k];
        if (!any) continue;
        for (int32_t k = g; k < g + 16; ++k)
          if (flag[k]) out.push_back(b + k);
      }
    }
    return;
  }
  const ALIFCoeffs c = p.c;
  float* __restrict v = p.s.v.data();
  float* __restrict iex = p.s.i_ex.data();
  float* __restrict iin = p.s.i_in.data();
  int32_t* __restrict ref = p.s.ref.data();
  float* __restrict a = p.a.data();
  const float scale = p.cur_scale;
  constexpr int C = 256;
  alignas(64) uint8_t flag[C];
  for (int32_t b = lo; b < hi; b += C) {
    const int32_t n = std::min(C, hi - b);
    for (int32_t k = 0; k < n; ++k) {
      const int32_t i = b + k;
      const float x0 = in0[i];
      const float x1 = K == SynapseKind::Exp ? in1[i] : 0.f;
      in0[i] = 0.f;
      if (K == SynapseKind::Exp) in1[i] = 0.f;
      const float drive = Cur ? cur[i] * scale : 0.f;
      float vi = v[i], ei = iex[i], ii = iin[i], ai = a[i];
      int32_t ri = ref[i];
      bool s;
      if (Adapt)
        s = alif_step<K>(c, vi, ei, ii, ri, ai, x0, x1, drive);
      else
        s = lif_step<K>(c.lif, vi, ei, ii, ri, x0, x1, drive);
      v[i] = vi;
      ref[i] = ri;
      if (K == SynapseKind::Exp) {
        iex[i] = ei;
        iin[i] = ii;
      }
      if (Adapt) a[i] = ai;
      flag[k] = s;
    }
    for (int32_t k = 0; k < n; ++k)
      if (flag[k]) out.push_back(b + k);
  }
}

// Dendritic branch stage of neurons [lo, hi) (Branches in engine/network.hpp): reads and clears
// the branch inputs `in` [n K], advances the branch state and writes the soma input y[j]. Same
// float operations in the same order as dendritic_soma_input (y summed from 0 over k).
template <BranchFn G>
void branch_range(Branches& br, int32_t lo, int32_t hi, float* __restrict in,
                  float* __restrict y) {
  const int32_t K = br.K;
  const float d = br.decay;
  const float* __restrict b = br.bias.empty() ? nullptr : br.bias.data();
  float* __restrict u = br.u.data();
  for (int32_t j = lo; j < hi; ++j) {
    float acc = 0.f;
    for (int64_t k = int64_t(j) * K; k < int64_t(j + 1) * K; ++k) {
      const float s = in[k];
      in[k] = 0.f;
      const float uk = d == 0.f ? s : u[k] * d + s;
      u[k] = uk;
      acc += branch_g<float>(G, b ? uk + b[k] : uk);
    }
    y[j] = acc;
  }
}

// CE-LIF neurons [lo, hi): current I = receptor 0 (+ current input), context q = receptor 1 (or
// I when shared); celif_pre / celif_post as the training kernel, spike when h - theta >= 0.
void celif_range(Population& p, int32_t lo, int32_t hi, float* in0, float* in1, const float* cur,
                 std::vector<int32_t>& out) {
  CELIFCoeffs& c = p.ce;
  float* __restrict v = p.s.v.data();
  float* __restrict a = p.a.data();
  float* __restrict cc = c.c.data();
  const float* __restrict lam = c.lam.data();
  const float* __restrict oml = c.one_m_lam.data();
  for (int32_t i = lo; i < hi; ++i) {
    float I = in0[i];
    in0[i] = 0.f;
    if (cur) I = I + cur[i];
    float q = I;
    if (!c.shared) {
      q = in1[i];
      in1[i] = 0.f;
    }
    float x;
    const float h = celif_pre<float>(v[i], a[i], cc[i], I, q, c.beta, lam[i], oml[i], c.beta_a,
                                     c.gamma, c.v_th, x);
    const float z = x >= 0.f ? 1.f : 0.f;
    celif_post<float>(v[i], a[i], h, z, c.rho, c.one_m_rho);
    if (z != 0.f) out.push_back(i);
  }
}

template <SynapseKind K, bool Adapt>
void update_dispatch_cur(Population& p, int32_t lo, int32_t hi, float* in0, float* in1,
                         const float* cur, std::vector<int32_t>& out) {
  if (cur) update_range<K, Adapt, true>(p, lo, hi, in0, in1, cur, out);
  else update_range<K, Adapt, false>(p, lo, hi, in0, in1, cur, out);
}

}  // namespace

void Network::update_block(Population& p, int32_t pi, int rank, int64_t t,
                           std::vector<int32_t>& out) {
  int64_t lo64, hi64;
  ThreadPool::block_range(p.n, pool_->size(), rank, lo64, hi64);
  const int32_t lo = int32_t(lo64), hi = int32_t(hi64);
  if (lo >= hi) return;  // spikes are appended to `out`
  if (p.model == NeuronModel::Source) {
    fire_sources(p, pi, lo, hi, t, out);
    return;
  }
  // ring targets: neurons, or the branch compartments j K + k of a dendritic population
  const int32_t nt = p.n_targets(), K = p.br.K;
  float* in0 = p.ring.slot(t);
  float* in1 = p.n_rec() == 2 ? in0 + nt : nullptr;
  float* in_neg = p.kind == SynapseKind::Exp ? in1 : nullptr;  // inhibitory receptor
  // external input into this step's slot (Poisson inputs, then events), and the current input
  inject_inputs(p, pi, lo * K, hi * K, t, in0, in_neg);
  const float* cur = current_input(p, lo, hi, t);
  if (p.model == NeuronModel::CELIF) {
    celif_range(p, lo, hi, in0, in1, cur, out);
    return;
  }
  if (K > 1) {  // branch stage: the soma's input of the step replaces the ring slot
    thread_local std::vector<float> ybuf;
    ybuf.resize(size_t(p.n));
    switch (p.br.g) {
      case BranchFn::ReLU: branch_range<BranchFn::ReLU>(p.br, lo, hi, in0, ybuf.data()); break;
      case BranchFn::Sigmoid:
        branch_range<BranchFn::Sigmoid>(p.br, lo, hi, in0, ybuf.data());
        break;
      default: branch_range<BranchFn::Identity>(p.br, lo, hi, in0, ybuf.data()); break;
    }
    in0 = ybuf.data();
  }
  const bool adapt = p.model == NeuronModel::ALIF;
  if (p.kind == SynapseKind::Exp) {
    if (adapt) update_dispatch_cur<SynapseKind::Exp, true>(p, lo, hi, in0, in1, cur, out);
    else update_dispatch_cur<SynapseKind::Exp, false>(p, lo, hi, in0, in1, cur, out);
  } else {
    if (adapt) update_dispatch_cur<SynapseKind::Delta, true>(p, lo, hi, in0, in1, cur, out);
    else update_dispatch_cur<SynapseKind::Delta, false>(p, lo, hi, in0, in1, cur, out);
  }
}
}  // namespace spikecore
