#pragma once
// External inputs and monitors of the engine (engine/inputs.cpp, engine/recording.cpp).
#include <cstdint>
#include <vector>

namespace spikecore {

struct PoissonInput {
  int32_t pop = 0;
  double rate_hz = 0;
  float weight = 0;
  int32_t lo = 0, hi = 0;  // target neurons [lo, hi)
  uint64_t stream = 0;
  double lambda = 0, exp_minus_lambda = 1;
  // inversion table for lambda < 10: count = #{k : u >= thr[k]}, u a uniform 32-bit word
  std::vector<uint32_t> thr;
};

struct SpikeRecord {
  int32_t pop = 0;
  std::vector<int64_t> step;
  std::vector<int32_t> id;
};

struct StateRecord {
  int32_t pop = 0;
  std::vector<int32_t> vars;  // StateVar codes
  std::vector<int32_t> idx;   // recorded neurons (ascending)
  int64_t every = 1, start = 0;
  std::vector<int64_t> step;  // recorded steps
  std::vector<float> data;    // [rows][vars][idx]
};

struct RateRecord {
  int32_t pop = 0;
  int64_t start = 0;
  std::vector<int32_t> count;  // spikes per step, from `start`
};

}  // namespace spikecore
