#pragma once
// Optional phase timers of the run loop (profiling builds only: cmake -DSPIKECORE_PHASE_TIMERS=ON,
// used by bench/cpp/bench_engine_brunel). Each thread adds the TSC ticks spent in a phase to its
// own cache line; without the option every Scope is empty and compiles away. Not thread-safe
// across networks: one network runs at a time in a profiling build.
#include <cstdint>

#ifdef SPIKECORE_PHASE_TIMERS
#include <x86intrin.h>
#endif

namespace spikecore::phase {

enum Id : int {
  Input = 0,  // Poisson input and events into this step's ring slot, current input
  Update,     // ring read (and clear) + neuron update
  Collect,    // spike collection (flags -> spike list)
  Barrier,    // waiting at the window barrier
  Deliver,    // delivery of the window's spikes into the rings
  Record,     // spike / state recorders
  Count
};
inline const char* name(int i) {
  static const char* n[Count] = {"input", "update", "collect", "barrier", "deliver", "record"};
  return n[i];
}

constexpr int kMaxRanks = 64;

#ifdef SPIKECORE_PHASE_TIMERS
constexpr bool kEnabled = true;
// Waits at the window barrier by length: bucket b counts the waits of 2^(b + kHistLo) to
// 2^(b + kHistLo + 1) ticks (the first and last buckets are open).
constexpr int kHist = 24, kHistLo = 8;
struct alignas(64) Slot {
  uint64_t ticks[Count];
  uint64_t waits[kHist];
};
inline Slot g_slots[kMaxRanks];
inline thread_local int t_rank = 0;
inline uint64_t now() { return __rdtsc(); }
inline void reset() {
  for (auto& s : g_slots) {
    for (auto& t : s.ticks) t = 0;
    for (auto& w : s.waits) w = 0;
  }
}
struct Scope {
  int id;
  uint64_t t0;
  explicit Scope(int i) : id(i), t0(__rdtsc()) {}
  ~Scope() { g_slots[t_rank & (kMaxRanks - 1)].ticks[id] += __rdtsc() - t0; }
};
inline void set_rank(int r) { t_rank = r; }
// A barrier wait: its ticks into Barrier and its length into the histogram.
struct WaitScope {
  uint64_t t0;
  WaitScope() : t0(__rdtsc()) {}
  ~WaitScope() {
    const uint64_t d = __rdtsc() - t0;
    Slot& s = g_slots[t_rank & (kMaxRanks - 1)];
    s.ticks[Barrier] += d;
    int b = d ? 63 - __builtin_clzll(d) - kHistLo : 0;
    s.waits[b < 0 ? 0 : (b >= kHist ? kHist - 1 : b)] += 1;
  }
};
#else
constexpr bool kEnabled = false;
struct Scope {
  explicit Scope(int) {}
};
struct WaitScope {
  WaitScope() {}
};
inline void set_rank(int) {}
inline void reset() {}
#endif

}  // namespace spikecore::phase
