#pragma once
// Shared helpers for the binding files. One bind_* function per subsystem, one file each.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <cstdint>
#include <new>

#include <string>
#include <vector>

#include "spikecore/core/buffer_pool.hpp"
#include "spikecore/core/errors.hpp"

namespace nb = nanobind;

void bind_synapses(nb::module_ m);
void bind_engine(nb::module_ m);
void bind_train(nb::module_ m);
void bind_audio(nb::module_ m);
void bind_models(nb::module_ m);
void bind_analysis(nb::module_ m);
void bind_learn(nb::module_ m);
void bind_variants(nb::module_ m);
void bind_conversion(nb::module_& m);
void bind_spike_metrics(nb::module_ m);

namespace spikecore_bind {

// Caller-allocated, C-contiguous CPU arrays (numpy arrays or torch tensors via DLPack).
template <typename T>
using Arr = nb::ndarray<T, nb::c_contig, nb::device::cpu>;
template <typename T>
using CArr = nb::ndarray<const T, nb::c_contig, nb::device::cpu>;

// Throws value_error naming the argument unless `a` has exactly n elements.
template <typename A>
void need(const A& a, size_t n, const char* name) {
  if (a.size() != n)
    throw spikecore::value_error(std::string(name) + ": expected " + std::to_string(n) +
                                 " elements, got " + std::to_string(a.size()));
}

// An optional array (passed empty when absent): its data, checked to hold n elements, or null.
template <typename A>
const auto* opt(const A& a, size_t n, const char* name) {
  if (a.size() == 0) return static_cast<decltype(a.data())>(nullptr);
  need(a, n, name);
  return a.data();
}

// A new 1-D numpy array owning a copy of `v` (the capsule frees it).
template <typename T>
nb::ndarray<nb::numpy, T, nb::ndim<1>> to_numpy(std::vector<T>&& v) {
  auto* heap = new std::vector<T>(std::move(v));
  nb::capsule owner(heap, [](void* p) noexcept { delete static_cast<std::vector<T>*>(p); });
  return nb::ndarray<nb::numpy, T, nb::ndim<1>>(heap->data(), {heap->size()}, owner);
}

// A new n-D numpy array of the given shape, zero-initialised, and a pointer to fill it.
template <typename T>
nb::ndarray<nb::numpy, T> new_numpy(std::initializer_list<size_t> shape, T** data) {
  size_t n = 1;
  for (size_t s : shape) n *= s;
  auto* heap = new std::vector<T>(n);
  nb::capsule owner(heap, [](void* p) noexcept { delete static_cast<std::vector<T>*>(p); });
  *data = heap->data();
  return nb::ndarray<nb::numpy, T>(heap->data(), shape.size(), shape.begin(), owner);
}

// A new n-D numpy array of the given shape, NOT initialised (the caller writes every element),
// aligned to 64 bytes (a cache line; lets kernels use aligned and non-temporal stores). Outputs of
// kPooledOutputMin bytes and more come from the core's buffer pool (core/buffer_pool.hpp: mapped
// once, huge pages where whole, reused by the next call's output of the same size class, so
// repeated calls write into pages already faulted in); smaller ones from operator new[], unless
// `always_pooled` (train.pool_empty: the pool's blocks for any size). The pool is entered without
// the GIL (a first block of a size class is mapped and may be slow).
constexpr size_t kPooledOutputMin = size_t(1) << 20;
template <typename T>
nb::ndarray<nb::numpy, T> new_numpy_uninit(std::initializer_list<size_t> shape, T** data,
                                           bool always_pooled = false) {
  size_t n = 1;
  for (size_t s : shape) n *= s;
  const size_t bytes = n * sizeof(T);
  void* p;
  nb::capsule owner;
  if (always_pooled || bytes >= kPooledOutputMin) {
    {
      nb::gil_scoped_release r;
      p = spikecore::pool_acquire(bytes > 0 ? bytes : sizeof(T));
    }
    owner = nb::capsule(p, [](void* q) noexcept { spikecore::pool_release(q); });
  } else {
    p = ::operator new[](bytes > 0 ? bytes : 1, std::align_val_t(64));
    owner = nb::capsule(p, [](void* q) noexcept { ::operator delete[](q, std::align_val_t(64)); });
  }
  *data = static_cast<T*>(p);
  return nb::ndarray<nb::numpy, T>(p, shape.size(), shape.begin(), owner);
}

}  // namespace spikecore_bind
