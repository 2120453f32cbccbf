#pragma once
// Integrate-and-fire neuron with soft reset (rate-coded ANN-to-SNN conversion, QCFS: Bu et al.
// 2022) and its signed variant (LeakyReLU). One definition for the fused forward kernel
// (train/conversion_kernels) and any engine population. Discrete time, one step per bin:
//
//   v_t = v_{t-1} + x_t
//   z_t = +1 if v_t >= theta,  -1 if Signed and v_t <= -theta / alpha,  else 0
//   v_t <- v_t - theta (z = +1),  v_t + theta / alpha (z = -1)
//
// with v_0 = v0 theta (v0 = 1/2: QCFS's half-threshold start). A spike stands for the value
// theta downstream (a negative one for -theta). The pure-torch reference is
// spikecore.nn.conversion.if_reference (an independent statement, the tests' oracle).
#include <cstdint>
#include <string>
#include <vector>

#include "spikecore/core/errors.hpp"

namespace spikecore {

struct IFParams {
  double v_th = 1.0;          // threshold theta [input units], > 0 (per-neuron arrays override)
  double v0 = 0.5;            // initial membrane as a fraction of theta, [0, 1)
  double negative_slope = 0;  // alpha of the signed variant (LeakyReLU slope), > 0; 0: unsigned

  bool is_signed() const { return negative_slope > 0; }
  void validate() const {
    require_positive(v_th, "v_th");
    require_finite(v0, "v0");
    require(v0 >= 0 && v0 < 1, "v0", "initial membrane fraction must lie in [0, 1)");
    require_nonnegative(negative_slope, "negative_slope");
  }
};

// Derived once (no dt: one step per bin). The negative threshold is theta / slope.
struct IFCoeffs {
  float v0 = 0.5f;
  float slope = 0.f;

  static IFCoeffs make(const IFParams& p) {
    p.validate();
    IFCoeffs c;
    c.v0 = float(p.v0);
    c.slope = float(p.negative_slope);
    return c;
  }
};

// Structure of arrays: membrane and threshold per neuron.
struct IFState {
  std::vector<float> v, v_th;
  void resize(size_t n, float theta, const IFCoeffs& c) {
    v_th.assign(n, theta);
    v.assign(n, c.v0 * theta);
  }
  size_t size() const { return v.size(); }
};

// One neuron, one step: integrate x, threshold, soft reset. Returns the spike (-1, 0, +1).
template <bool Signed, typename T>
inline T if_step(T slope, T theta, T& v, T x) {
  v = v + x;
  if (v >= theta) {
    v = v - theta;
    return T(1);
  }
  if constexpr (Signed) {
    const T nth = theta / slope;
    if (v <= -nth) {
      v = v + nth;
      return T(-1);
    }
  }
  (void)slope;
  return T(0);
}

// Block step over neurons [begin, end): x and z hold one value per neuron.
template <bool Signed, typename T>
inline void if_block_step(T slope, const T* theta, T* v, const T* x, T* z, int64_t begin,
                          int64_t end) {
  for (int64_t i = begin; i < end; ++i) z[i] = if_step<Signed, T>(slope, theta[i], v[i], x[i]);
}

}  // namespace spikecore
