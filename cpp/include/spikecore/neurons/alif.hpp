#pragma once
// Adaptive-threshold LIF: the LIF of lif.hpp whose threshold rises by `beta_a` (mV) per spike and
// relaxes back to v_th with time constant tau_a (Bellec et al. 2018; NEST's
// iaf_psc_exp_htum / amat2 family uses the same exact integration):
//
//   theta = v_th + a,   a' = a P_a + beta_a s,   P_a = exp(-dt / tau_a)
//
// The membrane follows lif_step; the spike test uses theta computed from a *before* this step's
// spike, and a is incremented after it (alif_threshold / alif_adapt of alif_discrete.hpp, with
// rho = P_a: the discrete ALIF is this model with LIFCoeffs::discrete and p_a = rho).
// alif_step is the scalar step, alif_block the engine's branch-free block step (bitwise equal).
#include "spikecore/neurons/alif_discrete.hpp"
#include "spikecore/neurons/lif.hpp"

namespace spikecore {

struct ALIFParams {
  LIFParams lif;
  double tau_a = 200.0;  // adaptation time constant [ms]
  double beta_a = 1.0;   // threshold increment per spike [mV]

  void validate() const {
    lif.validate();
    require_positive(tau_a, "tau_a");
    require_nonnegative(beta_a, "beta_a");
  }
};

struct ALIFCoeffs {
  LIFCoeffs lif;
  float p_a = 0, beta_a = 0;
  static ALIFCoeffs make(const ALIFParams& p, double dt) {
    p.validate();
    ALIFCoeffs c;
    c.lif = LIFCoeffs::make(p.lif, dt);
    c.p_a = float(std::exp(-dt / p.tau_a));
    c.beta_a = float(p.beta_a);
    return c;
  }
};

struct ALIFState {
  LIFState lif;
  std::vector<float> a;  // threshold adaptation [mV]
  void resize(size_t n, float v0) {
    lif.resize(n, v0);
    a.assign(n, 0.f);
  }
  size_t size() const { return a.size(); }
};

template <SynapseKind K>
inline bool alif_step(const ALIFCoeffs& c, float& v, float& i_ex, float& i_in, int32_t& ref,
                      float& a, float in_ex, float in_in, float drive) {
  LIFCoeffs lc = c.lif;
  lc.v_th = alif_threshold(a, c.lif.v_th);
  lc.reset_jump = lc.v_th - c.lif.v_reset;
  const bool s = lif_step<K>(lc, v, i_ex, i_in, ref, in_ex, in_in, drive);
  a = alif_adapt(a, s ? 1.f : 0.f, c.p_a, c.beta_a);
  return s;
}

template <SynapseKind K>
inline bool alif_step(const ALIFCoeffs& c, float& v, float& i_ex, float& i_in, int32_t& ref,
                      float& a, float in_ex, float in_in) {
  return alif_step<K>(c, v, i_ex, i_in, ref, a, in_ex, in_in, 0.f);
}

// Block step of neurons [b, b + n) (the engine's update), as lif_block: reads and clears in0 /
// in1, adds cur[i] * scale when Cur, writes spike flags flag[i - b]; a [N] is updated in place.
// Soft must equal c.lif.soft_reset. A loop over alif_step (measured faster than lif_block's
// branch-free form with the adaptive threshold: the refractory branch skips most of the work).
template <SynapseKind K, bool Soft, bool Cur>
inline void alif_block_raw(const ALIFCoeffs& c_, int32_t b, int32_t n, float* __restrict v,
                           float* __restrict iex, float* __restrict iin, int32_t* __restrict ref,
                           float* __restrict a, float* __restrict in0, float* __restrict in1,
                           const float* __restrict cur, float scale, int32_t* __restrict flag) {
  const ALIFCoeffs c = c_;  // a local copy: alif_step's coefficients stay in registers
  for (int32_t k = 0; k < n; ++k) {
    const int32_t i = b + k;
    const float x0 = in0[i];
    const float x1 = K == SynapseKind::Exp ? in1[i] : 0.f;
    in0[i] = 0.f;
    if (K == SynapseKind::Exp) in1[i] = 0.f;
    const float drive = Cur ? cur[i] * scale : 0.f;
    float vi = v[i], ei = iex[i], ii = iin[i], ai = a[i];
    int32_t ri = ref[i];
    const bool sp = alif_step<K>(c, vi, ei, ii, ri, ai, x0, x1, drive);
    v[i] = vi;
    ref[i] = ri;
    if (K == SynapseKind::Exp) {
      iex[i] = ei;
      iin[i] = ii;
    }
    a[i] = ai;
    flag[k] = sp;
  }
}

template <SynapseKind K, bool Soft, bool Cur>
inline void alif_block(const ALIFCoeffs& c, LIFState& s, float* a, int32_t b, int32_t n, float* in0,
                       float* in1, const float* cur, float scale, int32_t* flag) {
  alif_block_raw<K, Soft, Cur>(c, b, n, s.v.data(), s.i_ex.data(), s.i_in.data(), s.ref.data(), a,
                               in0, in1, cur, scale, flag);
}

}  // namespace spikecore
