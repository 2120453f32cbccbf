#pragma once
// Fused multi-step forward kernels of the conversion neurons (IF / signed IF, STDI): the whole
// [T, N] window in one call, neurons split into fixed blocks (results independent of n_threads).
// The dynamics are neurons/if_neuron.hpp and neurons/stdi.hpp; nothing is restated here.
// Forward only: the converted networks run in inference (the Heaviside has no gradient).
#include <cstdint>

#include "spikecore/neurons/if_neuron.hpp"
#include "spikecore/neurons/stdi.hpp"

namespace spikecore::train {

// x, z: [T, n] row-major; theta: [n] per-neuron thresholds (> 0, checked by the binding).
template <typename T>
void if_forward(const IFParams& p, const T* x, const T* theta, int64_t steps, int64_t n, T* z,
                int n_threads);

// x, z: [p.T, n]; the output holds the p.T bits (bit t fires at relative step p.d() + t).
template <typename T>
void stdi_forward(const STDIParams& p, const T* x, const T* theta, int64_t n, T* z, int n_threads);

}  // namespace spikecore::train
