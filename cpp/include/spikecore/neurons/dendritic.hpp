#pragma once
// Dendritic neuron (METHODS.md section 6, arXiv 2306.11950): K branches per neuron, branch k
// sees the inputs S_k (index list of length m):
//
//   u_k = b_k + sum_{i < m} w_{k,i} x[S_{k,i}],     y = sum_k g(u_k),     g in {relu, sigmoid,
//   identity}
//
// y is the somatic input (a LIF soma turns it into spikes). The branch potential u INCLUDES the
// bias b (as spikecore.nn.DendriticLinear.branch_input and the pure-torch dendritic_reference).
// In the engine a branch may also be leaky (branch_decay delta in [0, 1]), with b its resting
// potential:
//
//   u_k(t) = (s_k(t) + b_k) + delta (u_k(t-1) - b_k)           (branch_potential)
//
// with s_k(t) the summed synaptic input of the step (W x for the training layer); u starts at b.
// delta = 0 is the instantaneous branch above, u = s + b, bit for bit the training kernel's.
// dendritic_soma_input (one neuron, the training kernels: train/dendritic_kernels.hpp) and
// dendritic_block (a range of neurons, the engine's branch stage) both call branch_potential.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "spikecore/core/errors.hpp"

namespace spikecore {

enum class BranchFn : int { ReLU = 0, Sigmoid = 1, Identity = 2 };

template <typename T>
inline T branch_g(BranchFn g, T u) {
  switch (g) {
    case BranchFn::ReLU:
      return u > T(0) ? u : T(0);
    case BranchFn::Sigmoid:
      return T(1) / (T(1) + std::exp(-u));
    default:
      return u;
  }
}

// g'(u) (ReLU: 0 at u = 0, as torch).
template <typename T>
inline T branch_g_grad(BranchFn g, T u) {
  switch (g) {
    case BranchFn::ReLU:
      return u > T(0) ? T(1) : T(0);
    case BranchFn::Sigmoid: {
      const T s = T(1) / (T(1) + std::exp(-u));
      return s * (T(1) - s);
    }
    default:
      return T(1);
  }
}

// u = (s + b) + delta (u_prev - b); Leaky = false: u = s + b (delta = 0, no state).
template <bool Leaky, typename T>
inline T branch_potential(T s, T b, T u_prev, T delta) {
  if constexpr (Leaky)
    return (s + b) + delta * (u_prev - b);
  else
    return s + b;
}

struct DendriticParams {
  int32_t branches = 1;         // K branches per neuron (1: a point neuron, no branch stage)
  BranchFn g = BranchFn::ReLU;  // branch nonlinearity
  double decay = 0.0;           // branch_decay delta per step, [0, 1]          [1]

  void validate() const {
    require(branches >= 1, "branches", "K must be >= 1, got " + std::to_string(branches));
    require(int(g) >= 0 && int(g) <= 2, "branch_fn", "must be relu, sigmoid or identity");
    require_finite(decay, "branch_decay");
    require(decay >= 0 && decay <= 1, "branch_decay",
            "must lie in [0, 1], got " + std::to_string(decay));
  }
};

// Structure of arrays over the n K branch compartments j K + k.
struct DendriticState {
  std::vector<float> u;  // branch potentials (rest: the bias)
  void resize(size_t n_comp, const float* bias) {
    if (bias)
      u.assign(bias, bias + n_comp);
    else
      u.assign(n_comp, 0.f);
  }
};

// One neuron: weights w [K*m], bias b [K] (or null), indices idx [K*m] into x.
template <typename T>
inline T dendritic_soma_input(BranchFn g, int64_t K, int64_t m, const T* w, const T* b,
                              const int64_t* idx, const T* x, T* u) {
  T y = T(0);
  for (int64_t k = 0; k < K; ++k) {
    const T* wk = w + k * m;
    const int64_t* ik = idx + k * m;
    T s = T(0);
    for (int64_t i = 0; i < m; ++i) s += wk[i] * x[ik[i]];
    const T uk = b ? branch_potential<false>(s, b[k], T(0), T(0)) : s;
    u[k] = uk;
    y += branch_g(g, uk);
  }
  return y;
}

// Branch stage of neurons [lo, hi) (the engine): reads and clears the branch inputs in [n K]
// (this step's summed synaptic input s of compartment j K + k), advances u [n K] and writes the
// soma input y[j] = sum_k g(u_jk), summed from 0 over k as dendritic_soma_input. bias [n K] or
// null (then b = 0: u = s + delta u_prev).
template <BranchFn G>
inline void dendritic_block(int32_t K, float delta, const float* __restrict bias,
                            float* __restrict u, int32_t lo, int32_t hi, float* __restrict in,
                            float* __restrict y) {
  for (int32_t j = lo; j < hi; ++j) {
    float acc = 0.f;
    for (int64_t k = int64_t(j) * K; k < int64_t(j + 1) * K; ++k) {
      const float s = in[k];
      in[k] = 0.f;
      const float b = bias ? bias[k] : 0.f;
      const float uk = delta == 0.f ? (bias ? branch_potential<false>(s, b, 0.f, 0.f) : s)
                                    : branch_potential<true>(s, b, u[k], delta);
      u[k] = uk;
      acc += branch_g<float>(G, uk);
    }
    y[j] = acc;
  }
}

}  // namespace spikecore
