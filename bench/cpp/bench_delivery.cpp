// Microbenchmark: the CSR delivery loop into a delay ring (the engine's inner loop).
//
// Brunel connectivity (12.5 M synapses, one delay of 15 steps). Each step a fixed list of neurons
// spikes (drawn beforehand at 37 Hz, dt = 0.1 ms, so ~46 per step); for each spiker, every synapse
// of its row adds its weight into ring slot (t + delay) mod D at its target. The slot of the
// current step is read and cleared, as the engine does. Prints the median over repeats of
// delivered spike-synapse events per second, with one thread and with the rows split into
// per-thread target blocks (each thread owns a contiguous range of targets and touches only its
// slice of every row, found by binary search in the post-sorted row).
#include <algorithm>
#include <thread>

#include "bench_common.hpp"
#include "spikecore/core/thread_pool.hpp"

using spikecore::SynapseMatrix;

int main(int argc, char** argv) {
  const bool q = bench::quick(argc, argv);
  const double scale = q ? 0.2 : 1.0;
  const int steps = q ? 2000 : 10000;  // 0.2 s / 1 s biological time
  const int repeats = q ? 3 : 5;
  const uint16_t delay = 15;
  const int ring = delay + 1;
  const double rate_hz = 37.0, dt_ms = 0.1;

  const auto coo = bench::brunel_coo(scale, delay);
  const SynapseMatrix m = bench::brunel_matrix(coo, 0.0);
  const int32_t n = m.n_post();

  // Pre-drawn spikers per step (CSR: offsets into a flat list).
  std::vector<int64_t> off(size_t(steps) + 1, 0);
  std::vector<int32_t> spikers;
  const double p = rate_hz * dt_ms * 1e-3;
  for (int t = 0; t < steps; ++t) {
    for (int32_t i = 0; i < n; ++i) {
      spikecore::CounterRng rng(3, 11, uint64_t(i), uint64_t(t));
      if (rng.uniform() < p) spikers.push_back(i);
    }
    off[size_t(t) + 1] = int64_t(spikers.size());
  }
  int64_t events = 0;
  for (int32_t s : spikers) events += m.row_len(s);

  const int32_t* post = m.post();
  const float* w = m.weight();
  const uint16_t* d = m.delay();
  std::vector<float> buf(size_t(ring) * size_t(n), 0.f);
  volatile float sink = 0;

  auto run_blocked = [&](int t_begin, int t_end, int32_t lo, int32_t hi) {
    float acc = 0;
    for (int t = t_begin; t < t_end; ++t) {
      float* now = buf.data() + size_t(t % ring) * size_t(n);
      for (int32_t j = lo; j < hi; ++j) {  // read and clear this step's slot
        acc += now[j];
        now[j] = 0.f;
      }
      for (int64_t k = off[size_t(t)]; k < off[size_t(t) + 1]; ++k) {
        const int32_t s = spikers[size_t(k)];
        int64_t b = m.row_begin(s), e = m.row_end(s);
        if (lo > 0) b = std::lower_bound(post + b, post + e, lo) - post;
        if (hi < n) e = std::lower_bound(post + b, post + e, hi) - post;
        for (int64_t x = b; x < e; ++x) {
          buf[size_t((t + d[x]) % ring) * size_t(n) + size_t(post[x])] += w[x];
        }
      }
    }
    return acc;
  };

  std::vector<double> times;
  for (int r = 0; r < repeats + 1; ++r) {
    std::fill(buf.begin(), buf.end(), 0.f);
    const double t0 = bench::now_s();
    sink = sink + run_blocked(0, steps, 0, n);
    if (r > 0) times.push_back(bench::now_s() - t0);  // first run: warm-up
  }
  const double t1 = bench::median(times);
  std::printf("bench_delivery: N = %d, synapses = %lld, %d steps, %lld events per run\n", n,
              (long long)m.nnz(), steps, (long long)events);
  bench::report("delivery, 1 thread", double(events) / t1, "events/s",
                "median of " + std::to_string(repeats));

  // Same loop split over target blocks (lock-free, as the engine's threads own target blocks).
  for (int nt : {2, 4}) {
    if (nt > int(std::thread::hardware_concurrency())) break;
    spikecore::ThreadPool pool(nt);
    std::vector<double> tt;
    std::vector<float> parts(static_cast<size_t>(nt));
    for (int r = 0; r < repeats + 1; ++r) {
      std::fill(buf.begin(), buf.end(), 0.f);
      const double t0 = bench::now_s();
      pool.run([&](int rank) {
        int64_t lo, hi;
        spikecore::ThreadPool::block_range(n, nt, rank, lo, hi);
        // One barrier per step keeps the threads in lockstep, as the engine must.
        float acc = 0;
        for (int t = 0; t < steps; ++t) {
          acc += run_blocked(t, t + 1, int32_t(lo), int32_t(hi));
          pool.barrier();
        }
        parts[size_t(rank)] = acc;
      });
      if (r > 0) tt.push_back(bench::now_s() - t0);
    }
    for (float x : parts) sink = sink + x;
    const double tn = bench::median(tt);
    bench::report(("delivery, " + std::to_string(nt) + " threads").c_str(), double(events) / tn,
                  "events/s", "speedup " + std::to_string(t1 / tn).substr(0, 4) + "x");
  }
  return 0;
}
