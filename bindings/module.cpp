// spikecore._core: the one extension module. Each subsystem binds itself into a submodule from
// its own file (bindings translate; they hold no logic). C++ errors become Python exceptions:
// spikecore::value_error -> ValueError, type_error -> TypeError, index_error -> IndexError.
// The ISA variants (_core, _core_avx2, _core_avx512: CMakeLists.txt) are compiled from this file
// with the same module name, so that every one of them loads as spikecore._core
// (spikecore/_isa.py picks one); __isa__ says which.
#include <nanobind/nanobind.h>

#include "bindings.hpp"
#include "spikecore/core/errors.hpp"

namespace nb = nanobind;

#ifndef SPIKECORE_ISA
#define SPIKECORE_ISA "baseline"
#endif

NB_MODULE(_core, m) {
  m.doc() = "spikecore compiled core (C++). Use the Python packages spikecore.* instead.";
  m.attr("__isa__") = SPIKECORE_ISA;
  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const spikecore::type_error& e) {
      PyErr_SetString(PyExc_TypeError, e.what());
    }
  });
  bind_synapses(m.def_submodule("synapses", "SynapseMatrix and structural plasticity"));
  bind_engine(m.def_submodule("engine", "event-driven simulation engine"));
  bind_train(m.def_submodule("train", "fused training kernels"));
  bind_audio(m.def_submodule("audio", "cochlear filterbank and spike encoders"));
  bind_models(m.def_submodule("models", "model-specific kernels (HebbFF)"));
  bind_analysis(
      m.def_submodule("analysis", "signed multilayer modularity and generalized Louvain"));
  bind_learn(m.def_submodule("learn", "structure-learning kernels (synapse-sparse products)"));
  bind_variants(m.def_submodule("variants", "CE-LIF and dendritic neuron kernels"));
  auto conversion = m.def_submodule("conversion", "ANN-to-SNN conversion neurons (IF, STDI)");
  bind_conversion(conversion);
  bind_spike_metrics(m.def_submodule("spike_metrics", "spike-train distances"));
}
