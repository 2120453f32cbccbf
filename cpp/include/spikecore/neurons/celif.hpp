#pragma once
// CE-LIF: LIF with a contextual-embedding threshold (arXiv 2308.15150; RECONSTRUCTION of
// METHODS.md section 3 -- the paper's exact form is not public, every constant is a parameter).
// Discrete time, one step per bin, per neuron:
//
//   h_t     = beta v_{t-1} + I_t                       (I: synaptic current, W x_t + b)
//   c_t     = lam c_{t-1} + (1 - lam) q_t              (q: context drive, W_c x_t)
//   theta_t = (v_th + beta_a a_{t-1}) + gamma c_t
//   z_t     = H(h_t - theta_t)
//   v_t     = h_t (1 - z_t)                            (hard reset to 0)
//   a_t     = rho a_{t-1} + (1 - rho) z_t
//
// celif_pre / celif_post are the single definition used by the training kernels
// (train/celif_kernels.hpp) and by any engine population, in this exact operation order
// (the pure-torch reference in python/spikecore/nn/celif.py uses it too).
#include <vector>

#include "spikecore/core/errors.hpp"

namespace spikecore {

struct CELIFParams {
  double beta = 0.5;       // membrane decay per step, (0, 1]
  double rho = 0.9;        // adaptation decay per step, (0, 1]
  double beta_a = 0.5;     // adaptation strength [threshold units], >= 0
  double lambda_c = 0.99;  // context decay per step, (0, 1]
  double gamma = 20.0;     // context gain
  double v_th = 1.0;       // base threshold

  static void check_decay(double d, const char* name) {
    require_finite(d, name);
    require(d > 0 && d <= 1, name, "decay per step must lie in (0, 1], got " + std::to_string(d));
  }
  void validate() const {
    check_decay(beta, "beta");
    check_decay(rho, "rho");
    check_decay(lambda_c, "lambda_c");
    require_nonnegative(beta_a, "beta_a");
    require_finite(gamma, "gamma");
    require_finite(v_th, "v_th");
  }
};

// Pre-spike half of a step: advances c, returns h and writes x = h - theta.
template <typename T>
inline T celif_pre(T v, T a, T& c, T I, T q, T beta, T lam, T one_m_lam, T beta_a, T gamma,
                   T v_th, T& x) {
  const T h = v * beta + I;
  c = c * lam + one_m_lam * q;
  const T theta = (a * beta_a + v_th) + c * gamma;
  x = h - theta;
  return h;
}

// Post-spike half: reset and adaptation for spike value z (0/1, or g(x) in smooth training mode).
template <typename T>
inline void celif_post(T& v, T& a, T h, T z, T rho, T one_m_rho) {
  v = h * (T(1) - z);
  a = a * rho + one_m_rho * z;
}

// Structure-of-arrays state of a CE-LIF population.
struct CELIFState {
  std::vector<float> v, a, c;
  void resize(size_t n) {
    v.assign(n, 0.f);
    a.assign(n, 0.f);
    c.assign(n, 0.f);
  }
  size_t size() const { return v.size(); }
};

// One engine step for neurons [0, n): inputs I, q; writes spikes (0/1) to z.
inline void celif_step(const CELIFParams& p, CELIFState& s, const float* I, const float* q,
                       uint8_t* z) {
  const float beta = float(p.beta), lam = float(p.lambda_c), oml = float(1.0 - p.lambda_c),
              ba = float(p.beta_a), g = float(p.gamma), vth = float(p.v_th),
              rho = float(p.rho), omr = float(1.0 - p.rho);
  const size_t n = s.size();
  for (size_t i = 0; i < n; ++i) {
    float x;
    const float h = celif_pre<float>(s.v[i], s.a[i], s.c[i], I[i], q[i], beta, lam, oml, ba, g,
                                     vth, x);
    const float zz = x >= 0.f ? 1.f : 0.f;
    celif_post<float>(s.v[i], s.a[i], h, zz, rho, omr);
    z[i] = uint8_t(zz);
  }
}

}  // namespace spikecore
