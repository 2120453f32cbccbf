// Microbenchmark: the CSR delivery loop into a delay ring (the engine's inner loop).
//
// Brunel connectivity (12.5 M synapses, one delay of 15 steps). Each step a fixed list of neurons
// spikes (drawn beforehand at 37 Hz, dt = 0.1 ms, so ~46 per step); for each spiker, every synapse
// of its row adds its weight into ring slot (t + delay) mod D at its target. The slot of the
// current step is read and cleared, as the engine does. Prints the median over repeats of
// delivered spike-synapse events per second, with one thread and with the rows split into
// per-thread target blocks (each thread owns a contiguous range of targets and touches only its
// slice of every row, found by binary search in the post-sorted row).
//
// Two loops, as in the engine:
//   general    reads target, weight and delay per event (10 bytes per event when narrow)
//   constant   one weight and one delay per projection (Brunel's case): reads only the target,
//              2 bytes per event with the SynapseMatrix's 16-bit targets, 4 with 32-bit ones.
// The 16- and 32-bit variants run interleaved (repeat by repeat) so that load changes hit both.
#include <algorithm>
#include <thread>

#include "bench_common.hpp"
#include "spikecore/core/thread_pool.hpp"

using spikecore::SynapseMatrix;

int main(int argc, char** argv) {
  const bool q = bench::quick(argc, argv);
  int max_threads = 2;  // --threads N: 1 alone on a machine whose cores are busy with other jobs
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--threads") == 0) max_threads = std::atoi(argv[i + 1]);
  const double scale = q ? 0.2 : 1.0;
  const int steps = q ? 2000 : 10000;  // 0.2 s / 1 s biological time
  const int repeats = q ? 3 : 7;
  const uint16_t delay = 15;
  const int ring = delay + 1;
  const double rate_hz = 37.0, dt_ms = 0.1;

  const auto coo = bench::brunel_coo(scale, delay);
  const SynapseMatrix m = bench::brunel_matrix(coo, 0.0);
  const int32_t n = m.n_post();
  if (!m.narrow()) {
    std::printf("bench_delivery: expected 16-bit targets\n");
    return 1;
  }

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

  const uint16_t* post16 = m.post16();
  std::vector<int32_t> post32(size_t(m.capacity()));  // the same targets, 32-bit
  for (int64_t k = 0; k < m.capacity(); ++k) post32[size_t(k)] = m.post_at(k);
  const float* w = m.weight();
  const uint16_t* d = m.delay();
  std::vector<float> buf(size_t(ring) * size_t(n), 0.f);
  volatile float sink = 0;

  // General = true: weight and delay per synapse; false: constant weight, one delay.
  auto run_blocked = [&](auto idx_tag, bool general, int t_begin, int t_end, int32_t lo,
                         int32_t hi) {
    using Idx = decltype(idx_tag);
    const Idx* post;
    if constexpr (sizeof(Idx) == 2)
      post = post16;
    else
      post = post32.data();
    float acc = 0;
    for (int t = t_begin; t < t_end; ++t) {
      float* now = buf.data() + size_t(t % ring) * size_t(n);
      for (int32_t j = lo; j < hi; ++j) {  // read and clear this step's slot
        acc += now[j];
        now[j] = 0.f;
      }
      float* slot = buf.data() + size_t((t + delay) % ring) * size_t(n);
      for (int64_t k = off[size_t(t)]; k < off[size_t(t) + 1]; ++k) {
        const int32_t s = spikers[size_t(k)];
        int64_t b = m.row_begin(s), e = m.row_end(s);
        if (lo > 0) b = m.lower_bound_post(b, e, lo);
        if (hi < n) e = m.lower_bound_post(b, e, hi);
        if (general) {
          for (int64_t x = b; x < e; ++x)
            buf[size_t((t + d[x]) % ring) * size_t(n) + size_t(post[x])] += w[x];
        } else {
          const float wc = 0.1f;
          for (int64_t x = b; x < e; ++x) slot[size_t(post[x])] += wc;
        }
      }
    }
    return acc;
  };

  std::printf("bench_delivery: N = %d, synapses = %lld, %d steps, %lld events per run\n", n,
              (long long)m.nnz(), steps, (long long)events);
  for (bool general : {false, true}) {
    const char* kind = general ? "general (w, d per synapse)" : "constant w, d";
    for (int nt : {1, 2}) {
      if (nt > int(std::thread::hardware_concurrency()) || nt > max_threads) break;
      spikecore::ThreadPool pool(nt);
      std::vector<double> t16, t32, c16, c32;
      for (int r = 0; r < repeats + 1; ++r) {
        for (int width : {16, 32}) {
          std::fill(buf.begin(), buf.end(), 0.f);
          const double t0 = bench::now_s(), c0 = bench::cpu_s();
          std::vector<float> parts(size_t(nt), 0.f);
          pool.run([&](int rank) {
            int64_t lo, hi;
            spikecore::ThreadPool::block_range(n, nt, rank, lo, hi);
            float acc = 0;
            for (int t = 0; t < steps; ++t) {
              acc += width == 16
                         ? run_blocked(uint16_t(), general, t, t + 1, int32_t(lo), int32_t(hi))
                         : run_blocked(int32_t(), general, t, t + 1, int32_t(lo), int32_t(hi));
              if (nt > 1) pool.barrier();  // one barrier per step, as the engine
            }
            parts[size_t(rank)] = acc;
          });
          for (float x : parts) sink = sink + x;
          if (r > 0) {  // r 0: warm-up
            (width == 16 ? t16 : t32).push_back(bench::now_s() - t0);
            (width == 16 ? c16 : c32).push_back(bench::cpu_s() - c0);
          }
        }
      }
      for (int width : {16, 32}) {
        auto& v = width == 16 ? t16 : t32;
        std::sort(v.begin(), v.end());
        const double med = bench::median(v);
        const int bytes = (width == 16 ? 2 : 4) + (general ? 6 : 0);
        char name[96], note[128];
        std::snprintf(name, sizeof name, "delivery %s, %d-bit, %d thr", kind, width, nt);
        const double cpu = bench::median(width == 16 ? c16 : c32);
        std::snprintf(note, sizeof note, "%d B/event; wall %.3g-%.3g over %d; per CPU-s %.3g",
                      bytes, double(events) / v.back(), double(events) / v.front(), repeats,
                      double(events) / cpu);
        bench::report(name, double(events) / med, "events/s", note);
      }
    }
  }
  return 0;
}
