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
// (train/celif_kernels.hpp: forward and backward's recomputation) and by the engine (celif_step,
// celif_block), in this exact operation order (the pure-torch reference celif_reference in
// python/spikecore/nn/celif.py states it independently, in the same order).
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "spikecore/core/errors.hpp"
#include "spikecore/neurons/lif_discrete.hpp"  // heaviside

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
inline T celif_pre(T v, T a, T& c, T I, T q, T beta, T lam, T one_m_lam, T beta_a, T gamma, T v_th,
                   T& x) {
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

// Derived once: the float32 values the training kernel multiplies by (bindings/variants.cpp
// celif_args), lambda_c (and 1 - lambda_c, as given: a trained model stores both) per neuron.
struct CELIFCoeffs {
  float beta = 0.5f, rho = 0.9f, one_m_rho = 0.1f, beta_a = 0.5f, gamma = 20.f, v_th = 1.f;
  std::vector<float> lam, one_m_lam;  // [n]

  // p.lambda_c is ignored when lam / one_m_lam [n] are given (both or neither).
  static CELIFCoeffs make(const CELIFParams& p, size_t n, const float* lam = nullptr,
                          const float* one_m_lam = nullptr) {
    p.validate();
    CELIFCoeffs c;
    c.beta = float(p.beta);
    c.rho = float(p.rho);
    c.one_m_rho = float(1.0 - p.rho);
    c.beta_a = float(p.beta_a);
    c.gamma = float(p.gamma);
    c.v_th = float(p.v_th);
    if (lam) {
      for (size_t i = 0; i < n; ++i) {
        CELIFParams::check_decay(double(lam[i]), "lambda_c");
        require(std::isfinite(one_m_lam[i]) && one_m_lam[i] >= 0.f && one_m_lam[i] < 1.f,
                "lambda_c", "1 - lambda_c must lie in [0, 1)");
      }
      c.lam.assign(lam, lam + n);
      c.one_m_lam.assign(one_m_lam, one_m_lam + n);
    } else {
      c.lam.assign(n, float(p.lambda_c));
      c.one_m_lam.assign(n, float(1.0 - p.lambda_c));
    }
    return c;
  }
};

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

// One neuron i, one step with current I and context drive q; returns the spike.
inline bool celif_step(const CELIFCoeffs& c, size_t i, float& v, float& a, float& cc, float I,
                       float q) {
  float x;
  const float h = celif_pre<float>(v, a, cc, I, q, c.beta, c.lam[i], c.one_m_lam[i], c.beta_a,
                                   c.gamma, c.v_th, x);
  const float z = heaviside(x);
  celif_post<float>(v, a, h, z, c.rho, c.one_m_rho);
  return z != 0.f;
}

// Block step of neurons [b, b + n) (the engine's update): reads and clears the current I = in0[i]
// (+ cur[i] when Cur) and, unless Shared (q = I), the context drive q = in1[i]; updates v, a, cc
// [N] in place and writes spike flags flag[i - b].
template <bool Shared, bool Cur>
inline void celif_block(const CELIFCoeffs& c, float* __restrict v, float* __restrict a,
                        float* __restrict cc, int32_t b, int32_t n, float* __restrict in0,
                        float* __restrict in1, const float* __restrict cur,
                        int32_t* __restrict flag) {
  for (int32_t i = b; i < b + n; ++i) {
    float I = in0[i];
    in0[i] = 0.f;
    if constexpr (Cur) I = I + cur[i];
    float q = I;
    if constexpr (!Shared) {
      q = in1[i];
      in1[i] = 0.f;
    }
    flag[i - b] = celif_step(c, size_t(i), v[i], a[i], cc[i], I, q) ? 1 : 0;
  }
}

}  // namespace spikecore
