#pragma once
// Dendritic neuron (METHODS.md section 6, arXiv 2306.11950): K branches per neuron, branch k
// sees the inputs S_k (index list of length m):
//
//   u_k = b_k + sum_{i < m} w_{k,i} x[S_{k,i}],     y = sum_k g(u_k),     g in {relu, sigmoid, identity}
//
// y is the somatic input (a LIF soma turns it into spikes). dendritic_soma_input is the single
// definition used by the training kernels (train/dendritic_kernels.hpp) and by an engine
// population; `u` receives the branch potentials (the branch state).
#include <cmath>
#include <cstdint>

#include "spikecore/core/errors.hpp"

namespace spikecore {

enum class BranchFn : int { ReLU = 0, Sigmoid = 1, Identity = 2 };

template <typename T>
inline T branch_g(BranchFn g, T u) {
  switch (g) {
    case BranchFn::ReLU: return u > T(0) ? u : T(0);
    case BranchFn::Sigmoid: return T(1) / (T(1) + std::exp(-u));
    default: return u;
  }
}

// g'(u) (ReLU: 0 at u = 0, as torch).
template <typename T>
inline T branch_g_grad(BranchFn g, T u) {
  switch (g) {
    case BranchFn::ReLU: return u > T(0) ? T(1) : T(0);
    case BranchFn::Sigmoid: {
      const T s = T(1) / (T(1) + std::exp(-u));
      return s * (T(1) - s);
    }
    default: return T(1);
  }
}

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
    const T uk = b ? s + b[k] : s;
    u[k] = uk;
    y += branch_g(g, uk);
  }
  return y;
}

}  // namespace spikecore
