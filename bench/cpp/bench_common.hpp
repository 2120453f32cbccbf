#pragma once
// Shared helpers for the C++ microbenchmarks: a wall clock, medians, the Brunel connectivity.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <ctime>
#include <vector>

#include "spikecore/core/rng.hpp"
#include "spikecore/synapses/synapse_matrix.hpp"

namespace bench {

inline double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// CPU seconds of this process (all threads): on a machine shared with other jobs, the CPU time
// of a 1-thread run is far less sensitive to time-sharing than its wall time.
inline double cpu_s() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// `--quick` anywhere on the command line: smaller sizes, fewer repeats.
inline bool quick(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--quick") == 0) return true;
  return false;
}

// Brunel (2000) recurrent connectivity at `scale` (1 -> N = 12500, 12.5 M synapses): fixed
// in-degree k_exc from the first 80 % and k_inh from the last 20 %, weights J and -g J, one delay.
struct Coo {
  int32_t n = 0;
  std::vector<int32_t> pre, post;
  std::vector<float> w;
  std::vector<uint16_t> d;
};

inline Coo brunel_coo(double scale, uint16_t delay_steps, uint64_t seed = 1) {
  Coo c;
  const int32_t n_e = int32_t(10000 * scale), n_i = int32_t(2500 * scale);
  const int32_t k_e = std::min<int32_t>(1000, n_e), k_i = std::min<int32_t>(250, n_i);
  c.n = n_e + n_i;
  const size_t nnz = size_t(c.n) * size_t(k_e + k_i);
  c.pre.resize(nnz);
  c.post.resize(nnz);
  c.w.resize(nnz);
  c.d.assign(nnz, delay_steps);
  size_t pos = 0;
  for (int32_t j = 0; j < c.n; ++j) {
    spikecore::CounterRng rng(seed, 7, uint64_t(j), 0);
    for (int32_t k = 0; k < k_e; ++k, ++pos) {
      c.pre[pos] = int32_t(rng.below(uint64_t(n_e)));
      c.post[pos] = j;
      c.w[pos] = 0.1f;
    }
    for (int32_t k = 0; k < k_i; ++k, ++pos) {
      c.pre[pos] = n_e + int32_t(rng.below(uint64_t(n_i)));
      c.post[pos] = j;
      c.w[pos] = -0.5f;
    }
  }
  return c;
}

inline spikecore::SynapseMatrix brunel_matrix(const Coo& c, double slack) {
  return spikecore::SynapseMatrix::from_coo(c.n, c.n, c.pre.data(), c.post.data(), c.w.data(),
                                            c.d.data(), int64_t(c.pre.size()), slack);
}

inline void report(const char* name, double value, const char* unit, const std::string& note = "") {
  std::printf("%-44s %12.4g %-12s %s\n", name, value, unit, note.c_str());
  std::fflush(stdout);
}

}  // namespace bench
