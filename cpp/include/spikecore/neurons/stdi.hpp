#pragma once
// STDI neuron: spike-time-dependent integrated coding (SUHD, arXiv 2306.12010; RECONSTRUCTION of
// METHODS.md section 4 -- the paper's equations are not public). A window of T steps codes T bits,
// most significant first; bit t has the threshold theta_t = theta 2^-(t+1). With a delay D
// (1 <= D <= T) between the start of the input window and the first bit, at relative step
// r = 0 .. T + D - 1:
//
//   u <- u + x_r                                        (r < T: integrate the window's sum)
//   u <- u + sgn(u) T theta_{T-1} / 2                   (r == D, rounding on; sgn = +1 unsigned,
//                                                        the negative side divided by alpha)
//   z_{r-D} = +1 if u >= T theta_{r-D},  -1 if Signed and u <= -T theta_{r-D} / alpha,  else 0
//   u <- u - z T theta_{r-D}    (a negative spike: u + T theta_{r-D} / alpha)
//
// The membrane holds the window's sum of inputs, so every threshold carries the factor T; bit t
// stands for the value T theta_t per step downstream, and the window mean of the output is
// sum_t theta_t z_t. With D = T and a constant input a this is exactly
// theta floor(a 2^T / theta + 1/2) / 2^T clipped to [0, theta (1 - 2^-T)] (rounding off: floor),
// the QCFS quantiser with L = 2^T - 1. The pure-torch reference is
// spikecore.nn.conversion.stdi_reference (an independent statement, the tests' oracle).
#include <cstdint>
#include <string>
#include <vector>

#include "spikecore/core/errors.hpp"

namespace spikecore {

struct STDIParams {
  int32_t T = 4;              // bits per window (time steps), >= 1
  int32_t delay = 0;          // D in steps, 1 <= D <= T; 0 means D = T (integrate, then fire)
  double v_th = 1.0;          // threshold theta [input units], > 0 (per-neuron arrays override)
  bool rounding = true;       // add half a least significant bit before the first bit
  double negative_slope = 0;  // alpha of the signed variant (LeakyReLU slope) > 0; 0: unsigned

  bool is_signed() const { return negative_slope > 0; }
  int32_t d() const { return delay == 0 ? T : delay; }
  void validate() const {
    require(T >= 1 && T <= 30, "T",
            "bits per window must lie in [1, 30], got " + std::to_string(T));
    require(delay >= 0 && delay <= T, "delay",
            "must lie in [1, T] (0 for D = T), got " + std::to_string(delay));
    require_positive(v_th, "v_th");
    require_nonnegative(negative_slope, "negative_slope");
  }
};

// Per-bit threshold factors T 2^-(t+1) (exact in float for T < 2^24), the rounding offset
// T 2^-(T+1), computed once.
struct STDICoeffs {
  int32_t T = 0, D = 0;
  bool rounding = true;
  float slope = 0.f;
  std::vector<float> factor;  // [T]
  float half = 0.f;

  static STDICoeffs make(const STDIParams& p) {
    p.validate();
    STDICoeffs c;
    c.T = p.T;
    c.D = p.d();
    c.rounding = p.rounding;
    c.slope = float(p.negative_slope);
    c.factor.resize(size_t(p.T));
    double f = 0.5 * p.T;
    for (int32_t t = 0; t < p.T; ++t, f *= 0.5) c.factor[size_t(t)] = float(f);
    c.half = p.rounding ? float(f) : 0.f;  // f = T 2^-(T+1) after the loop
    return c;
  }
};

// Structure of arrays: accumulated window input and threshold per neuron.
struct STDIState {
  std::vector<float> u, v_th;
  void resize(size_t n, float theta) {
    v_th.assign(n, theta);
    u.assign(n, 0.f);
  }
  size_t size() const { return u.size(); }
};

// One neuron, relative step r of the window (0 <= r < T + D). has_x: whether x is this step's
// input (r < T). Returns the spike of bit r - D (-1, 0, +1), or 0 while still integrating.
// f_t = T 2^-(t+1) and half = T 2^-(T+1) come from STDICoeffs.
template <bool Signed, typename T>
inline T stdi_step(int32_t r, int32_t n_bits, int32_t D, const float* factor, T half, T slope,
                   T theta, T& u, T x) {
  if (r < n_bits) u = u + x;
  if (r < D) return T(0);
  if (r == D) {
    if constexpr (Signed) {
      u = u >= T(0) ? u + theta * half : u - theta * half / slope;
    } else {
      u = u + theta * half;
    }
  }
  const T th = theta * T(factor[r - D]);
  if (u >= th) {
    u = u - th;
    return T(1);
  }
  if constexpr (Signed) {
    const T nth = th / slope;
    if (u <= -nth) {
      u = u + nth;
      return T(-1);
    }
  }
  (void)slope;
  return T(0);
}

// Block step over neurons [begin, end) at relative step r; x: this step's input (ignored when
// r >= T), z: the bit r - D (written only when r >= D).
template <bool Signed, typename T>
inline void stdi_block_step(int32_t r, const STDICoeffs& c, const T* theta, T* u, const T* x, T* z,
                            int64_t begin, int64_t end) {
  const T half = T(c.half), slope = T(c.slope);
  for (int64_t i = begin; i < end; ++i) {
    const T s = stdi_step<Signed, T>(r, c.T, c.D, c.factor.data(), half, slope, theta[i], u[i],
                                     r < c.T ? x[i] : T(0));
    if (r >= c.D) z[i] = s;
  }
}

}  // namespace spikecore
