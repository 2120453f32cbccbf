#pragma once
// Counter-based random numbers (Philox4x32-10, Salmon et al. 2011).
//
// A draw is a pure function of (seed, stream, element, step, index): no generator state is shared
// between threads, so results never depend on how work is split. `stream` separates independent
// uses (connectivity, Poisson input of population 3, pruning, ...); `element` is usually a neuron
// or synapse index; `step` a time step or iteration.
#include <array>
#include <cmath>
#include <cstdint>

namespace spikecore {

inline uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

inline std::array<uint32_t, 4> philox4x32(std::array<uint32_t, 4> c, std::array<uint32_t, 2> k) {
  constexpr uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u, W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  for (int r = 0; r < 10; ++r) {
    const uint64_t p0 = uint64_t(M0) * c[0];
    const uint64_t p1 = uint64_t(M1) * c[2];
    c = {uint32_t(p1 >> 32) ^ c[1] ^ k[0], uint32_t(p1), uint32_t(p0 >> 32) ^ c[3] ^ k[1],
         uint32_t(p0)};
    k[0] += W0;
    k[1] += W1;
  }
  return c;
}

// A short sequence of random numbers for one (seed, stream, element, step) tuple.
// Cheap to construct; draws 4 words per Philox call.
class CounterRng {
 public:
  CounterRng(uint64_t seed, uint64_t stream, uint64_t element, uint64_t step) {
    const uint64_t key = splitmix64(seed ^ splitmix64(stream + 0x632BE59BD9B4E019ull));
    key_ = {uint32_t(key), uint32_t(key >> 32)};
    ctr_ = {uint32_t(element), uint32_t(element >> 32), uint32_t(step), uint32_t(step >> 32)};
    // The 32-bit block index is folded into the high words by xor, so 2^32 blocks per tuple.
  }

  uint32_t next_u32() {
    if (pos_ == 4) refill();
    return buf_[pos_++];
  }
  uint64_t next_u64() {
    const uint64_t hi = next_u32();
    return (hi << 32) | next_u32();
  }
  // Uniform in [0, 1) with 24 random bits.
  float uniform_f() { return float(next_u32() >> 8) * (1.0f / 16777216.0f); }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return double(next_u64() >> 11) * (1.0 / 9007199254740992.0); }
  // Uniform in (0, 1]: safe for log().
  double uniform_pos() { return 1.0 - uniform(); }
  // Uniform integer in [0, n), n > 0 (Lemire's multiply-shift, negligible bias for n << 2^64).
  uint64_t below(uint64_t n) {
    return uint64_t((static_cast<unsigned __int128>(next_u64()) * n) >> 64);
  }
  // Standard normal (Box-Muller; one value per call, the pair's twin is discarded for simplicity).
  double normal() {
    const double u1 = uniform_pos(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  // Poisson(lambda). For lambda < 10 inversion by sequential search with one uniform;
  // above, Hormann's PTRS transformed rejection (1993).
  int64_t poisson(double lambda) {
    if (lambda <= 0) return 0;
    if (lambda < 10.0) return poisson_small(lambda, std::exp(-lambda));
    return poisson_ptrs(lambda);
  }
  // Inversion with a precomputed exp(-lambda) (hot loops).
  int64_t poisson_small(double lambda, double exp_minus_lambda) {
    double u = uniform();
    double p = exp_minus_lambda, f = p;
    int64_t k = 0;
    while (u > f && k < 1000) {
      ++k;
      p *= lambda / double(k);
      f += p;
    }
    return k;
  }
  // Geometric number of failures before the first success, success probability p in (0, 1].
  int64_t geometric(double log1m_p) {
    // log1m_p = log(1 - p) < 0, precomputed by the caller.
    return int64_t(std::floor(std::log(uniform_pos()) / log1m_p));
  }

 private:
  void refill() {
    std::array<uint32_t, 4> c = ctr_;
    c[1] ^= block_ << 16;  // element rarely uses its high word; keeps blocks distinct
    c[3] ^= block_ * 0x9E3779B9u;
    buf_ = philox4x32(c, key_);
    ++block_;
    pos_ = 0;
  }
  int64_t poisson_ptrs(double lambda) {
    const double slam = std::sqrt(lambda), loglam = std::log(lambda);
    const double b = 0.931 + 2.53 * slam, a = -0.059 + 0.02483 * b;
    const double invalpha = 1.1239 + 1.1328 / (b - 3.4), vr = 0.9277 - 3.6224 / (b - 2);
    for (;;) {
      const double u = uniform() - 0.5, v = uniform_pos();
      const double us = 0.5 - std::fabs(u);
      const double k = std::floor((2 * a / us + b) * u + lambda + 0.43);
      if (us >= 0.07 && v <= vr) return int64_t(k);
      if (k < 0 || (us < 0.013 && v > us)) continue;
      if (std::log(v) + std::log(invalpha) - std::log(a / (us * us) + b) <=
          -lambda + k * loglam - std::lgamma(k + 1))
        return int64_t(k);
    }
  }

  std::array<uint32_t, 2> key_{};
  std::array<uint32_t, 4> ctr_{};
  std::array<uint32_t, 4> buf_{};
  uint32_t block_ = 0;
  int pos_ = 4;
};

}  // namespace spikecore
