#pragma once
// Private to the engine's sources (cpp/src/engine/*.cpp): random streams, padding and the
// value-specification helpers shared by its files.
#include <cmath>
#include <cstdint>
#include <string>

#include "spikecore/core/errors.hpp"
#include "spikecore/core/memory.hpp"
#include "spikecore/core/rng.hpp"
#include "spikecore/engine/projection.hpp"

namespace spikecore {
namespace engine_detail {

constexpr uint64_t kStreamInit = 0x494e4954ull << 20;     // "INIT" + population
constexpr uint64_t kStreamConnect = 0x434f4e4eull << 20;  // "CONN" + projection
constexpr uint64_t kStreamWeight = 0x57454947ull << 20;   // "WEIG" + projection
constexpr uint64_t kStreamDelay = 0x44454c41ull << 20;    // "DELA" + projection
constexpr uint64_t kStreamPoisson = 0x504f4953ull << 20;  // "POIS" + input
constexpr uint64_t kStreamPlastic = 0x504c4153ull << 20;  // "PLAS" + projection
constexpr uint64_t kStreamSource = 0x53524345ull << 20;   // "SRCE" + population
constexpr int kPad = 16;                                  // int64 padding against false sharing
// Spare capacity per row (fraction): regrowth after pruning fits without repacking.
constexpr double kSlack = 0.15;

inline std::string str(double x) { return std::to_string(x); }

// Bytes per synapse while a projection is built (generation lists, weights, delays and the
// matrix with its slack) and per neuron of a population (state, adaptation, one ring slot):
// the estimates of the memory checks (spikecore/core/memory.hpp).
constexpr double kSynapseBytes = 32.0;
constexpr double kNeuronBytes = 48.0;
constexpr double kTargetBytes = 12.0;  // per branch compartment / gate candidate

inline void require_population_memory(int64_t n, int64_t targets, std::string_view arg) {
  require_memory(double(n) * kNeuronBytes + double(targets) * kTargetBytes, arg,
                 count_str(double(n)) + " neurons (" + count_str(double(targets)) + " targets)");
}

// A delay ring of `slots` steps for `targets` targets x `receptors` receptors (float each).
inline void require_ring_memory(double slots, int64_t targets, int32_t receptors,
                                std::string_view arg) {
  require_memory(slots * double(targets) * receptors * 4.0, arg,
                 "a delay ring of " + count_str(slots) + " steps x " + count_str(double(targets)) +
                     " targets");
}

[[noreturn]] inline void throw_past_time(int64_t now) {
  throw value_error("times: must not lie before the current time (step " + std::to_string(now) +
                    ")");
}

inline void check_spec(const ValueSpec& s, const char* arg) {
  switch (s.kind) {
    case ValueSpec::Const:
      require_finite(s.a, arg);
      break;
    case ValueSpec::Normal:
      require_finite(s.a, arg);
      require_nonnegative(s.b, arg);
      break;
    case ValueSpec::Uniform:
      require_finite(s.a, arg);
      require_finite(s.b, arg);
      require(s.b >= s.a, arg, "uniform bounds must satisfy low <= high");
      break;
    case ValueSpec::Array:
      for (int64_t k = 0; k < s.len; ++k)
        if (!std::isfinite(s.arr[k])) throw value_error(std::string(arg) + ": contains NaN or inf");
      break;
    default:
      throw value_error(std::string(arg) + ": unknown specification");
  }
}

// Value of synapse k (generation order) of a spec; stream separates weights from delays.
inline double spec_value(const ValueSpec& s, uint64_t seed, uint64_t stream, int64_t k) {
  switch (s.kind) {
    case ValueSpec::Const:
      return s.a;
    case ValueSpec::Normal: {
      CounterRng r(seed, stream, uint64_t(k), 0);
      return s.a + s.b * r.normal();
    }
    case ValueSpec::Uniform: {
      CounterRng r(seed, stream, uint64_t(k), 0);
      return s.a + (s.b - s.a) * r.uniform();
    }
    case ValueSpec::Array:
      return s.arr[k];
  }
  return 0;
}

}  // namespace engine_detail
}  // namespace spikecore
