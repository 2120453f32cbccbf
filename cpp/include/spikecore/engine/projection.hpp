#pragma once
// A projection (the synapses from one population onto another, one SynapseMatrix) and the
// specifications the connection rules of engine/connect.cpp build projections from.
#include <cstdint>
#include <vector>

#include "spikecore/synapses/synapse_matrix.hpp"

namespace spikecore {

struct Projection {
  int32_t pre = 0, post = 0;
  SynapseMatrix m;
  bool allow_autapses = true, allow_multapses = true;
  // derived before a run (recomputed after any change)
  bool dirty = true;
  int32_t bounds_t = 0;
  std::vector<int64_t> bounds;  // n_pre x (n_threads + 1) absolute positions
  uint16_t dmin = 1, dmax = 1;
  int recmode = 0;        // 0: receptor 0 only; 1: receptor 1 only; 2: by sign of weight
  int32_t receptor = -1;  // fixed receptor (0, 1), or -1: by sign (exp synapses) / 0
  // every weight bitwise equal (NEST-style models: one weight per projection): delivery then
  // reads no weight array, half the memory traffic per synapse
  bool wconst = false;
  float wval = 0.f;
};

// A weight or delay specification: a constant, a distribution or a per-synapse array.
struct ValueSpec {
  enum Kind : int { Const = 0, Normal = 1, Uniform = 2, Array = 3 };
  Kind kind = Const;
  double a = 0, b = 0;  // Const: a; Normal: mean a, std b; Uniform: [a, b)
  const float* arr = nullptr;
  int64_t len = 0;
};

enum class ConnRule : int {
  AllToAll = 0,
  PairwiseBernoulli = 1,
  FixedIndegree = 2,
  FixedOutdegree = 3,
  OneToOne = 4
};

}  // namespace spikecore
