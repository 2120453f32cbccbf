// double instantiations of the neuron kernels (see neuron_kernels.inl).
#include "neuron_kernels.inl"

namespace spikecore::train {

#define SPIKECORE_INSTANTIATE(T)                                                              \
  template void lif_forward<T>(const NeuronArgs<T>&, const T*, const T*, T*, T*, T*);         \
  template void lif_backward<T>(const NeuronArgs<T>&, const T*, const T*, const T*, const T*, \
                                T*, T*, T*, T*);                                              \
  template void alif_forward<T>(const NeuronArgs<T>&, const T*, const T*, const T*, T*, T*,   \
                                T*, T*, T*);                                                  \
  template void alif_backward<T>(const NeuronArgs<T>&, const T*, const T*, const T*,          \
                                 const T*, const T*, const T*, T*, T*, T*, T*, T*);           \
  template void li_forward<T>(const NeuronArgs<T>&, const T*, const T*, T*);                  \
  template void li_backward<T>(const NeuronArgs<T>&, const T*, const T*, const T*, const T*,  \
                               T*, T*, T*, T*);


SPIKECORE_INSTANTIATE(double)
#undef SPIKECORE_INSTANTIATE

}  // namespace spikecore::train
