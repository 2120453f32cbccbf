// CE-LIF training kernels for double (the code: celif_kernels.inl).
#include "celif_kernels.inl"

namespace spikecore::train {
SPIKECORE_INSTANTIATE(double)
}  // namespace spikecore::train
