// The neuron update of one thread block of a population and step: source firing and external
// input (inputs.cpp), the dendritic branch stage, then the LIF / ALIF / CE-LIF / IF / STDI block
// step (the model headers' block steps, cpp/include/spikecore/neurons/) or the max-pool gate.
#include "spikecore/engine/network.hpp"

#include <algorithm>
#include <type_traits>
#include <vector>

#include "spikecore/engine/phase_timers.hpp"

namespace spikecore {

namespace {

// The neuron dynamics are the model headers' block steps (neurons/lif.hpp lif_block, alif.hpp
// alif_block, celif.hpp celif_block, dendritic.hpp dendritic_block); this file only cuts a
// thread's block into chunks, dispatches the compile-time variants and gathers the spikes.
constexpr int kChunk = 512;

// Spiking neurons of chunk [b, b + n) from its flags, in neuron order, skipping silent groups of
// 16 with one vector test. flag has room for a multiple of 16.
inline void gather_spikes(int32_t* flag, int32_t b, int32_t n, std::vector<int32_t>& out) {
  for (int32_t k = n; k < ((n + 15) & ~15); ++k) flag[k] = 0;
  for (int32_t g = 0; g < n; g += 16) {
    int32_t any = 0;
    for (int32_t k = 0; k < 16; ++k) any |= flag[g + k];
    if (!any) continue;
    for (int32_t k = g; k < g + 16; ++k)
      if (flag[k]) out.push_back(b + k);
  }
}

// LIF / ALIF neurons [lo, hi) with this step's input (read and cleared from the ring slot).
template <SynapseKind K, bool Adapt, bool Cur, bool Soft>
void update_range(Population& p, int32_t lo, int32_t hi, float* in0, float* in1, const float* cur,
                  std::vector<int32_t>& out) {
  alignas(64) int32_t flag[kChunk];
  for (int32_t b = lo; b < hi; b += kChunk) {
    const int32_t n = std::min(kChunk, hi - b);
    {
      phase::Scope ps(phase::Update);
      if constexpr (Adapt)
        alif_block<K, Soft, Cur>(p.c, p.s, p.a.data(), b, n, in0, in1, cur, p.cur_scale, flag);
      else
        lif_block<K, Soft, Cur>(p.c.lif, p.s, b, n, in0, in1, cur, p.cur_scale, flag);
    }
    phase::Scope ps(phase::Collect);
    gather_spikes(flag, b, n, out);
  }
}

// CE-LIF neurons [lo, hi): current I = receptor 0 (+ current input), context q = receptor 1 (or
// I when shared).
template <bool Shared, bool Cur>
void celif_range(Population& p, int32_t lo, int32_t hi, float* in0, float* in1, const float* cur,
                 std::vector<int32_t>& out) {
  alignas(64) int32_t flag[kChunk];
  for (int32_t b = lo; b < hi; b += kChunk) {
    const int32_t n = std::min(kChunk, hi - b);
    celif_block<Shared, Cur>(p.ce, p.s.v.data(), p.a.data(), p.ce.c.data(), b, n, in0, in1, cur,
                             flag);
    gather_spikes(flag, b, n, out);
  }
}

// IF / signed IF (neurons/if_neuron.hpp if_block_step) or STDI neurons at relative step r of
// their window (neurons/stdi.hpp stdi_block_step), [lo, hi): x = ring slot (read and cleared) +
// current input; spikes in neuron order, a negative spike of neuron i reported as n + i.
template <bool Stdi, bool Signed, bool Cur>
void conversion_range(Population& p, int32_t lo, int32_t hi, int32_t r, float* in0,
                      const float* cur, std::vector<int32_t>& out) {
  alignas(64) float x[kChunk], z[kChunk];
  const ConversionPopulation& cv = p.conv;
  for (int32_t b = lo; b < hi; b += kChunk) {
    const int32_t n = std::min(kChunk, hi - b);
    for (int32_t k = 0; k < n; ++k) {
      x[k] = Cur ? in0[b + k] + cur[b + k] : in0[b + k];
      in0[b + k] = 0.f;
    }
    if constexpr (Stdi) {
      stdi_block_step<Signed, float>(r, cv.sc, cv.theta.data() + b, p.s.v.data() + b, x, z, 0, n);
      if (r < cv.sc.D) continue;  // still integrating: no bit yet
    } else {
      if_block_step<Signed, float>(cv.ifc.slope, cv.theta.data() + b, p.s.v.data() + b, x, z, 0, n);
    }
    for (int32_t k = 0; k < n; ++k)
      if (z[k] != 0.f) out.push_back(z[k] > 0.f ? b + k : p.n + b + k);
  }
}

// Max-pool gate neurons [lo, hi) (ConversionPopulation): P_jk += s_jk w; pass the spike of the
// first candidate with the largest P.
void maxgate_range(Population& p, int32_t lo, int32_t hi, float w, float* in0,
                   std::vector<int32_t>& out) {
  const int32_t K = p.br.K;
  float* P = p.br.u.data();
  for (int32_t j = lo; j < hi; ++j) {
    float* s = in0 + int64_t(j) * K;
    float* pj = P + int64_t(j) * K;
    int32_t best = 0;
    for (int32_t k = 0; k < K; ++k) {
      pj[k] += s[k] * w;
      if (pj[k] > pj[best]) best = k;
    }
    const float o = s[best];
    for (int32_t k = 0; k < K; ++k) s[k] = 0.f;
    if (o > 0.f)
      out.push_back(j);
    else if (o < 0.f)
      out.push_back(p.n + j);
  }
}

template <typename F>
inline void dispatch_bool(bool b, F&& f) {
  if (b)
    f(std::true_type{});
  else
    f(std::false_type{});
}

}  // namespace

void Network::update_block(Population& p, int32_t pi, int rank, int64_t t,
                           std::vector<int32_t>& out) {
  int64_t lo64, hi64;
  thread_block(p.n, rank, lo64, hi64);  // block `rank` of this process's neurons
  const int32_t lo = int32_t(lo64), hi = int32_t(hi64);
  if (lo >= hi) return;  // spikes are appended to `out`
  if (p.model == NeuronModel::Source) {
    fire_sources(p, pi, lo, hi, t, out);
    return;
  }
  // ring targets: neurons, or the branch compartments j K + k of a dendritic population
  const int32_t K = p.br.K;
  float* in0 = p.ring.slot(t, rank);  // this thread's block of the ring (DelayRing)
  float* in1 = p.n_rec() == 2 ? in0 + p.ring.rstride(rank) : nullptr;
  float* in_neg = p.kind == SynapseKind::Exp ? in1 : nullptr;  // inhibitory receptor
  // external input into this step's slot (Poisson inputs, then events), and the current input
  const float* cur;
  {
    phase::Scope ps(phase::Input);
    inject_inputs(p, pi, rank, lo * K, hi * K, t, in0, in_neg);
    cur = current_input(p, lo, hi, t);
  }
  if (p.model == NeuronModel::IF || p.model == NeuronModel::STDI ||
      p.model == NeuronModel::MaxGate) {
    const int64_t r = t - p.conv.t0;                           // relative step of the window
    if (p.conv.window > 0 && (r < 0 || r >= p.conv.window)) {  // outside: inputs dropped
      std::fill(in0 + lo * K, in0 + hi * K, 0.f);
      return;
    }
    if (p.model == NeuronModel::MaxGate) {
      maxgate_range(p, lo, hi, p.conv.gate_stdi ? p.conv.spike_weight(t) : 1.f, in0, out);
      return;
    }
    dispatch_bool(p.model == NeuronModel::STDI, [&](auto D) {
      dispatch_bool(p.conv.is_signed, [&](auto S) {
        dispatch_bool(cur != nullptr, [&](auto C) {
          conversion_range<decltype(D)::value, decltype(S)::value, decltype(C)::value>(
              p, lo, hi, int32_t(r), in0, cur, out);
        });
      });
    });
    return;
  }
  if (p.model == NeuronModel::CELIF) {
    dispatch_bool(p.ce.shared, [&](auto S) {
      dispatch_bool(cur != nullptr, [&](auto C) {
        celif_range<decltype(S)::value, decltype(C)::value>(p, lo, hi, in0, in1, cur, out);
      });
    });
    return;
  }
  if (K > 1) {  // branch stage: the soma's input of the step replaces the ring slot
    thread_local std::vector<float> ybuf;
    ybuf.resize(size_t(p.n));
    const float* bias = p.br.bias.empty() ? nullptr : p.br.bias.data();
    float* u = p.br.u.data();
    switch (p.br.g) {
      case BranchFn::ReLU:
        dendritic_block<BranchFn::ReLU>(K, p.br.decay, bias, u, lo, hi, in0, ybuf.data());
        break;
      case BranchFn::Sigmoid:
        dendritic_block<BranchFn::Sigmoid>(K, p.br.decay, bias, u, lo, hi, in0, ybuf.data());
        break;
      default:
        dendritic_block<BranchFn::Identity>(K, p.br.decay, bias, u, lo, hi, in0, ybuf.data());
        break;
    }
    in0 = ybuf.data();
  }
  const bool exp_syn = p.kind == SynapseKind::Exp;
  dispatch_bool(exp_syn, [&](auto E) {
    constexpr SynapseKind Kind = decltype(E)::value ? SynapseKind::Exp : SynapseKind::Delta;
    dispatch_bool(p.model == NeuronModel::ALIF, [&](auto A) {
      dispatch_bool(cur != nullptr, [&](auto C) {
        dispatch_bool(p.c.lif.soft_reset, [&](auto S) {
          update_range<Kind, decltype(A)::value, decltype(C)::value, decltype(S)::value>(
              p, lo, hi, in0, in1, cur, out);
        });
      });
    });
  });
}
}  // namespace spikecore
