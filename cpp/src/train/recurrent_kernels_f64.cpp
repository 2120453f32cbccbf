// double instantiations of the recurrent layer kernels (see recurrent_kernels.inl).
#include "recurrent_kernels.inl"

namespace spikecore::train {
SPIKECORE_INSTANTIATE_RECURRENT_KERNELS(double)
}  // namespace spikecore::train
