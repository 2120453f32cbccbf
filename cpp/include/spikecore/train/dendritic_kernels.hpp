#pragma once
// Dendritic layer kernels (equations: neurons/dendritic.hpp). x [R, in], weight [out, K, m],
// bias [out, K] or null, index [out, K, m] (int64, checked by check_index at the boundary).
// forward saves the branch potentials u [R, out, K]. Threads own fixed row blocks (forward,
// input gradient) or neuron blocks (weight gradient, summed over rows in order), so results do
// not depend on the thread count.
#include <cstdint>

#include "spikecore/neurons/dendritic.hpp"

namespace spikecore::train {

struct DendriticArgs {
  int64_t rows = 0, in = 0, out = 0, k = 0, m = 0;
  BranchFn g = BranchFn::ReLU;
  int n_threads = 1;
};

inline BranchFn branch_fn(int g) {
  require(g >= 0 && g <= 2, "nonlinearity",
          "unknown kind " + std::to_string(g) + "; valid: 0 relu, 1 sigmoid, 2 identity");
  return BranchFn(g);
}

inline void check_index(const int64_t* idx, size_t n, int64_t in) {
  for (size_t i = 0; i < n; ++i) require_index(idx[i], in, "subsets");
}

template <typename T>
void dendritic_forward(const DendriticArgs& a, const T* x, const T* w, const T* b,
                       const int64_t* idx, T* u, T* y);

// gx (may be null) [R, in], gw [out, K, m], gb (may be null) [out, K]; all overwritten.
template <typename T>
void dendritic_backward(const DendriticArgs& a, const T* x, const T* w, const int64_t* idx,
                        const T* u, const T* gy, T* gx, T* gw, T* gb);

}  // namespace spikecore::train
