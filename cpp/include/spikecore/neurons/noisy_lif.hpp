#pragma once
// Noisy LIF (spikecore.nn.NoisyLIF; noise-driven learning, NSNN): the discrete LIF of
// lif_discrete.hpp with i.i.d. threshold noise eps_t of scale sigma,
//
//   h_t = (d + beta v_{t-1}) + x_t,   z_t = H((h_t - v_th) + eps_t),   v_t = lif_reset(h_t, z_t)
//
// so z_t ~ Bernoulli(F(h_t - v_th)) with F the noise CDF; training's gradient dz/dh is the noise
// density f(h_t - v_th) (the surrogate of NoiseKind below, with alpha from sigma). The noise is
// drawn by the caller (torch, seeded) and passed in as eps [T, N]; eps = 0 is the deterministic
// discrete LIF, which is how the engine deploys a NoisyLIF (sim "lif_discrete").
#include <cstdint>
#include <string>

#include "spikecore/neurons/lif_discrete.hpp"

namespace spikecore {

// Noise distributions; the numbers are the training surrogate kinds (train/surrogate.hpp) whose
// CDF / derivative are the noise's CDF / density: gaussian -> Gaussian (alpha = 1/sigma),
// logistic -> Sigmoid (1/sigma), uniform -> Rectangle (1/(2 sigma)), triangular -> Triangle
// (1/sigma). (python/spikecore/nn/surrogate.py: _NOISES.)
enum class NoiseKind : int { Gaussian = 5, Logistic = 1, Uniform = 4, Triangular = 3 };

struct NoisyLIFParams {
  DiscreteLIFParams lif;
  double sigma = 0.3;                     // noise scale                  [v units]
  NoiseKind noise = NoiseKind::Gaussian;  // noise distribution

  void validate() const {
    lif.validate();
    require_positive(sigma, "sigma");
  }
  // The surrogate width alpha whose CDF is the noise CDF of scale sigma.
  double alpha() const { return noise == NoiseKind::Uniform ? 1.0 / (2.0 * sigma) : 1.0 / sigma; }
};

// One neuron, one step with its noise sample eps. Returns z in {0, 1}.
template <bool Soft, typename T>
inline T noisy_lif_step(const DiscreteLIFCoeffs<T>& c, T& v, T x, T eps) {
  const T h = lif_membrane(c.drive, v, c.beta, x);
  const T z = heaviside((h - c.v_th) + eps);
  v = lif_reset<Soft>(h, z, c.v_reset, c.jump);
  return z;
}

// One step of neurons [n0, n1) with this step's noise row eps: lif_discrete_block with Noise.
template <typename T, bool Soft, typename Spike>
inline void noisy_lif_block(int64_t n0, int64_t n1, const T* beta, const T* drive, T v_th,
                            T v_reset, const T* x, const T* eps, T* v, T* z, T* h, Spike spike) {
  lif_discrete_block<T, Soft, true>(n0, n1, beta, drive, v_th, v_reset, x, eps, v, z, h, spike);
}

}  // namespace spikecore
