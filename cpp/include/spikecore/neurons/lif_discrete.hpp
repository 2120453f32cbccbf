#pragma once
// Discrete-time leaky integrate-and-fire neuron: spikecore.nn.LIF / ParametricLIF, the engine's
// "lif_discrete" population, and the membrane core every LIF-family model of this folder builds
// on (lif.hpp, alif.hpp, alif_discrete.hpp, noisy_lif.hpp). One step per time bin, per neuron:
//
//   h_t = (d + beta v_{t-1}) + x_t,          d = (1 - beta) v_rest          (lif_membrane)
//   y_t = h_t - theta                                                       (theta = v_th here)
//   z_t = H(y_t)                  (training in smooth mode: z_t = g(y_t), a surrogate CDF)
//   v_t = h_t (1 - z_t) + z_t v_reset                  (hard reset)         (lif_reset)
//   v_t = h_t - z_t (theta - v_reset)                  (soft reset)
//
// x_t is the weighted input of the step (already W s_t + b). The parenthesisation above is the
// operation order of every caller -- the engine, the fused training kernels
// (train/kernels.hpp) and the pure-torch reference (python/spikecore/nn/reference.py, an
// independent statement of the same equations) -- so their spikes agree bit for bit.
// For z in {0, 1}, H(h - theta) = [h >= theta] exactly (IEEE subtraction is zero only for equal
// operands), so the engine may compare instead of subtracting.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "spikecore/core/errors.hpp"

namespace spikecore {

// ---- point functions: the single statement of the discrete membrane and reset --------------

// h = (d + beta v) + x
template <typename T>
inline T lif_membrane(T d, T v, T beta, T x) {
  return (d + v * beta) + x;
}

// The deterministic spike: H(y) = 1 if y >= 0 else 0.
template <typename T>
inline T heaviside(T y) {
  return y >= T(0) ? T(1) : T(0);
}

// Membrane after the spike value z (0/1, or g(y) in smooth training); jump = theta - v_reset.
template <bool Soft, typename T>
inline T lif_reset(T h, T z, T v_reset, T jump) {
  if constexpr (Soft)
    return h - z * jump;
  else
    return h * (T(1) - z) + z * v_reset;
}

// lif_reset at z = 1, for the engine's selects (v = spiked ? lif_reset_spiked(h) : h): the same
// value for finite h (h * 0 + v_reset = v_reset), without the arithmetic of the z = 0 lanes.
template <bool Soft, typename T>
inline T lif_reset_spiked(T h, T v_reset, T jump) {
  if constexpr (Soft)
    return h - jump;
  else
    return v_reset;
}

// ---- the model ----------------------------------------------------------------------------

struct DiscreteLIFParams {
  double beta = 0.5;        // membrane decay per step, (0, 1] (nn: 1 - 1/tau)  [1]
  double v_rest = 0.0;      // resting potential                               [v units]
  double v_th = 1.0;        // firing threshold                                [v units]
  double v_reset = 0.0;     // reset potential (hard reset)                    [v units]
  bool soft_reset = false;  // subtract (v_th - v_reset) instead of setting v_reset

  void validate() const {
    require_finite(beta, "beta");
    require(beta > 0 && beta <= 1, "beta", "must be in (0, 1], got " + std::to_string(beta));
    require_finite(v_rest, "v_rest");
    require_finite(v_th, "v_th");
    require_finite(v_reset, "v_reset");
    require(v_th > v_reset || soft_reset, "v_th", "must be greater than v_reset");
  }
};

// Derived once from the parameters, in the precision of the caller (float in the engine, the
// tensor dtype in training).
template <typename T>
struct DiscreteLIFCoeffs {
  T beta = T(0.5), drive = 0, v_th = 1, v_reset = 0, jump = 1;  // jump = v_th - v_reset
  bool soft = false;

  static DiscreteLIFCoeffs make(const DiscreteLIFParams& p) {
    p.validate();
    DiscreteLIFCoeffs c;
    c.beta = T(p.beta);
    c.drive = T((1.0 - p.beta) * p.v_rest);
    c.v_th = T(p.v_th);
    c.v_reset = T(p.v_reset);
    c.jump = T(p.v_th - p.v_reset);
    c.soft = p.soft_reset;
    return c;
  }
};

// Structure of arrays over neurons.
template <typename T>
struct DiscreteLIFState {
  std::vector<T> v;
  void resize(size_t n, T v0) { v.assign(n, v0); }
  size_t size() const { return v.size(); }
};

// One neuron, one step (deterministic spike). Returns z in {0, 1}.
template <bool Soft, typename T>
inline T lif_discrete_step(const DiscreteLIFCoeffs<T>& c, T& v, T x) {
  const T h = lif_membrane(c.drive, v, c.beta, x);
  const T z = heaviside(h - c.v_th);
  v = lif_reset<Soft>(h, z, c.v_reset, c.jump);
  return z;
}

// One step of neurons [n0, n1) (the fused training forward's inner loop, branch-free):
// per-neuron decay beta[i] and drive d[i]; x, eps (Noise: NoisyLIF threshold noise, see
// noisy_lif.hpp), z, h are this step's rows (h may be null); v is updated in place.
// spike(y) -> z is heaviside, or a surrogate CDF in smooth mode.
template <typename T, bool Soft, bool Noise, typename Spike>
inline void lif_discrete_block(int64_t n0, int64_t n1, const T* __restrict__ beta,
                               const T* __restrict__ drive, T v_th, T v_reset,
                               const T* __restrict__ x, const T* __restrict__ eps,
                               T* __restrict__ v, T* __restrict__ z, T* __restrict__ h,
                               Spike spike) {
  const T jump = v_th - v_reset;
#pragma GCC ivdep
  for (int64_t i = n0; i < n1; ++i) {
    const T hh = lif_membrane(drive[i], v[i], beta[i], x[i]);
    T y = hh - v_th;
    if constexpr (Noise) y = y + eps[i];
    const T zz = spike(y);
    v[i] = lif_reset<Soft>(hh, zz, v_reset, jump);
    if (h) h[i] = hh;
    z[i] = zz;
  }
}

}  // namespace spikecore
