#pragma once
// Discrete-time adaptive LIF (spikecore.nn.AdaptiveLIF; the engine's "alif_discrete"): the
// discrete LIF of lif_discrete.hpp whose threshold carries an adaptation a (Bellec et al. 2018):
//
//   h_t     = (d + beta v_{t-1}) + x_t                               (lif_membrane)
//   theta_t = a_{t-1} + v_th                                         (alif_threshold)
//   z_t     = H(h_t - theta_t)           (smooth training: g(h_t - theta_t))
//   v_t     = lif_reset(h_t, z_t; jump = theta_t - v_reset)          (hard or soft)
//   a_t     = rho a_{t-1} + beta_a z_t                               (alif_adapt)
//
// The spike test uses a from before this step's spike; a is incremented after it. The
// continuous ALIF (alif.hpp) uses the same two point functions with rho = exp(-dt / tau_a).
#include <cstdint>
#include <vector>

#include "spikecore/neurons/lif_discrete.hpp"

namespace spikecore {

// theta = a + v_th
template <typename T>
inline T alif_threshold(T a, T v_th) {
  return a + v_th;
}

// a' = rho a + beta_a z
template <typename T>
inline T alif_adapt(T a, T z, T rho, T beta_a) {
  return a * rho + z * beta_a;
}

struct DiscreteALIFParams {
  DiscreteLIFParams lif;
  double rho = 0.995;   // adaptation decay per step, [0, 1] (nn: 1 - 1/tau_a)  [1]
  double beta_a = 0.2;  // threshold increment per spike                      [v units]

  void validate() const {
    lif.validate();
    require_finite(rho, "rho");
    require(rho >= 0 && rho <= 1, "rho", "must be in [0, 1], got " + std::to_string(rho));
    require_finite(beta_a, "beta_a");
  }
};

template <typename T>
struct DiscreteALIFCoeffs {
  DiscreteLIFCoeffs<T> lif;
  T rho = T(0.995), beta_a = T(0.2);
  static DiscreteALIFCoeffs make(const DiscreteALIFParams& p) {
    p.validate();
    DiscreteALIFCoeffs c;
    c.lif = DiscreteLIFCoeffs<T>::make(p.lif);
    c.rho = T(p.rho);
    c.beta_a = T(p.beta_a);
    return c;
  }
};

// Structure of arrays over neurons.
template <typename T>
struct DiscreteALIFState {
  std::vector<T> v, a;
  void resize(size_t n, T v0) {
    v.assign(n, v0);
    a.assign(n, T(0));
  }
  size_t size() const { return v.size(); }
};

// One neuron, one step (deterministic spike). Returns z in {0, 1}.
template <bool Soft, typename T>
inline T alif_discrete_step(const DiscreteALIFCoeffs<T>& c, T& v, T& a, T x) {
  const T h = lif_membrane(c.lif.drive, v, c.lif.beta, x);
  const T theta = alif_threshold(a, c.lif.v_th);
  const T z = heaviside(h - theta);
  v = lif_reset<Soft>(h, z, c.lif.v_reset, theta - c.lif.v_reset);
  a = alif_adapt(a, z, c.rho, c.beta_a);
  return z;
}

// One step of neurons [n0, n1) (the fused training forward's inner loop, branch-free):
// per-neuron beta[i], drive d[i]; x, z, h, aprev (a_{t-1}, saved for backward) are this step's
// rows; v and a are updated in place. spike(y) -> z: heaviside or a surrogate CDF.
template <typename T, bool Soft, typename Spike>
inline void alif_discrete_block(int64_t n0, int64_t n1, const T* __restrict__ beta,
                                const T* __restrict__ drive, T v_th, T v_reset, T rho, T beta_a,
                                const T* __restrict__ x, T* __restrict__ v, T* __restrict__ a,
                                T* __restrict__ z, T* __restrict__ h, T* __restrict__ aprev,
                                Spike spike) {
#pragma GCC ivdep
  for (int64_t i = n0; i < n1; ++i) {
    const T hh = lif_membrane(drive[i], v[i], beta[i], x[i]);
    const T aa = a[i];
    const T theta = alif_threshold(aa, v_th);
    const T zz = spike(hh - theta);
    v[i] = lif_reset<Soft>(hh, zz, v_reset, theta - v_reset);
    a[i] = alif_adapt(aa, zz, rho, beta_a);
    h[i] = hh;
    aprev[i] = aa;
    z[i] = zz;
  }
}

}  // namespace spikecore
