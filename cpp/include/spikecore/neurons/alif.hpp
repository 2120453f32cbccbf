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

// The adaptive threshold of alif_block: theta_i = a_i + v_th; after the spike test
// a_i <- p_a a_i + beta_a z_i (alif_threshold / alif_adapt).
struct Adaptation {
  float* __restrict a;  // [n] adaptation state
  float p_a, beta_a;
  float threshold(int32_t i, float v_th) const { return alif_threshold(a[i], v_th); }
  float jump(float theta, float v_reset, float) const { return theta - v_reset; }
  void adapt(int32_t i, float z) const { a[i] = alif_adapt(a[i], z, p_a, beta_a); }
};

// Block step of neurons [b, b + n) (the engine's update): lif_block with the adaptive threshold;
// a [n] is updated in place. Bitwise equal to alif_step<K> per neuron.
template <SynapseKind K, bool Soft, bool Cur>
inline void alif_block(const ALIFCoeffs& c, LIFState& s, float* a, int32_t b, int32_t n,
                       float* in0, float* in1, const float* cur, float scale, int32_t* flag) {
  lif_block<K, Soft, Cur>(c.lif, s, b, n, in0, in1, cur, scale, flag,
                          Adaptation{a, c.p_a, c.beta_a});
}

}  // namespace spikecore
