#pragma once
// Adaptive-threshold LIF: the LIF of lif.hpp whose threshold rises by `beta_a` (mV) per spike and
// relaxes back to v_th with time constant tau_a (Bellec et al. 2018; NEST's
// iaf_psc_exp_htum / amat2 family uses the same exact integration):
//
//   theta = v_th + a,   a' = a P_a + beta_a s,   P_a = exp(-dt / tau_a)
//
// The membrane follows lif_step; the spike test uses theta computed from a *before* this step's
// spike, and a is incremented after it.
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
  lc.v_th = c.lif.v_th + a;
  lc.reset_jump = lc.v_th - c.lif.v_reset;
  const bool s = lif_step<K>(lc, v, i_ex, i_in, ref, in_ex, in_in, drive);
  a = a * c.p_a + (s ? c.beta_a : 0.f);
  return s;
}

template <SynapseKind K>
inline bool alif_step(const ALIFCoeffs& c, float& v, float& i_ex, float& i_in, int32_t& ref,
                      float& a, float in_ex, float in_in) {
  return alif_step<K>(c, v, i_ex, i_in, ref, a, in_ex, in_in, 0.f);
}

}  // namespace spikecore
