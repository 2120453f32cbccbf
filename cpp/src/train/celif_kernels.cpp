// CE-LIF training kernels for float (the code: celif_kernels.inl).
#include "celif_kernels.inl"

namespace spikecore::train {
SPIKECORE_INSTANTIATE(float)
}  // namespace spikecore::train
