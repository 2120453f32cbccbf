#pragma once
// Shared helpers for the binding files. One bind_* function per subsystem, one file each.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <cstdint>
#include <new>

#include <string>
#include <vector>

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

// Memory for large outputs (bindings/output_pages.cpp). Outputs of kOutputPagesMin bytes and
// more get their own 2 MiB-aligned mapping (whole 2 MiB pages where that wastes at most 1/8)
// with transparent-huge-page advice before the first touch; a freed one is kept (at most
// kOutputPagesKeep bytes in all, oldest unmapped first) and reused by the next output of about its
// size, so repeated calls write into pages that are already faulted in. Smaller outputs come from
// operator new[] (64-byte aligned).
constexpr size_t kOutputPagesMin = size_t(1) << 20;
constexpr size_t kOutputPagesKeep = size_t(64) << 20;
void* output_pages_alloc(size_t bytes);  // 64-byte aligned; throws std::bad_alloc
void output_pages_free(void* p) noexcept;
struct OutputPageStats {
  uint64_t mapped = 0, reused = 0, unmapped = 0;  // counts since start
  uint64_t idle_bytes = 0, idle_blocks = 0, live_blocks = 0;
};
OutputPageStats output_pages_stats();

// A new n-D numpy array of the given shape, NOT initialised (the caller writes every element),
// aligned to 64 bytes (a cache line; lets kernels use aligned and non-temporal stores), from
// output_pages_alloc.
template <typename T>
nb::ndarray<nb::numpy, T> new_numpy_uninit(std::initializer_list<size_t> shape, T** data) {
  size_t n = 1;
  for (size_t s : shape) n *= s;
  T* heap = static_cast<T*>(output_pages_alloc(n * sizeof(T)));
  nb::capsule owner(heap, [](void* p) noexcept { output_pages_free(p); });
  *data = heap;
  return nb::ndarray<nb::numpy, T>(heap, shape.size(), shape.begin(), owner);
}

}  // namespace spikecore_bind
