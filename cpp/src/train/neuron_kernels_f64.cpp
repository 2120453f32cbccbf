// double instantiations of the neuron kernels (see neuron_kernels.inl).
#include "neuron_kernels.inl"

namespace spikecore::train {
SPIKECORE_INSTANTIATE_NEURON_KERNELS(double)
}  // namespace spikecore::train
