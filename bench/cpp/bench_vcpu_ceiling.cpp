// What 2-thread speed-up this machine allows for the engine's memory pattern (issue 18): the same
// total work on 1 and on 2 threads (strong scaling; the 2-thread run splits it in halves), runs
// alternated `--reps` times, the median 1-thread / 2-thread wall ratio with its range:
//   compute       8 dependent float multiply-add chains (registers only)
//   stream 64MB   sum over a 64 MB array (DRAM bandwidth)
//   rmw 1MB/16MB  random 4-byte read-modify-writes into a 1 MB / 16 MB array, each thread in its
//                 own half (delivery's pattern into the delay ring; 16 MB: past L2, into L3)
//   rows split    the engine's delivery: 46 random rows per step of 1,250 sorted 16-bit targets in
//                 a 32 MB matrix, added into a 16-slot ring of 12,500; 2 threads: each its half of
//                 every row (targets split by value, as Network's thread blocks)
//   rows whole    the same with each thread taking whole rows, half of them (what the split costs)
// and first the round trip of a cache line between the two threads (ping-pong): on a VM it tells
// where the host placed the two vCPUs (~50-70 ns: one core complex, ~300 ns: two), which changes
// during a day and with it the speed-ups. `--reps N` (default 9), `--quick`.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "bench_common.hpp"

namespace {

volatile uint64_t g_sink;

struct Arrays {
  std::vector<uint64_t> stream;
  std::vector<float> rmw;
  std::vector<uint16_t> rows;
  std::vector<int32_t> mid;
  std::vector<float> ring[2];
  int n_rows = 0;
};

inline uint64_t xorshift(uint64_t& x) {
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return x;
}

void compute(int part, int parts, int64_t iters) {
  float a[8];
  for (int i = 0; i < 8; ++i) a[i] = 1.0f + float(i) * 1e-3f;
  for (int64_t k = 0; k < iters / parts; ++k)
    for (float& x : a) x = x * 0.999999f + 1e-7f;
  float s = 0;
  for (float x : a) s += x;
  g_sink = g_sink + uint64_t(s);
  (void)part;
}

void stream(const Arrays& A, int part, int parts, int reps) {
  const size_t n = A.stream.size(), lo = n * size_t(part) / size_t(parts),
               hi = n * size_t(part + 1) / size_t(parts);
  uint64_t s = 0;
  for (int r = 0; r < reps; ++r)
    for (size_t i = lo; i < hi; ++i) s += A.stream[i];
  g_sink = g_sink + s;
}

void rmw(Arrays& A, int part, int parts, size_t bytes, int64_t updates) {
  const size_t len = bytes / 4 / size_t(parts), lo = len * size_t(part);
  float* a = A.rmw.data() + lo;
  uint64_t x = 0x9E3779B97F4A7C15ull * uint64_t(part + 1);
  for (int64_t k = 0; k < updates / parts; ++k) a[xorshift(x) % len] += 1.0f;
}

void rows(Arrays& A, int part, int parts, bool split, int steps) {
  uint64_t x = 12345;
  float* ring = A.ring[part].data();
  for (int t = 0; t < steps; ++t) {
    float* slot = ring + (t & 15) * 12500;
    for (int s = 0; s < 46; ++s) {
      const int r = int(xorshift(x) % uint64_t(A.n_rows));
      const uint16_t* row = A.rows.data() + size_t(r) * 1250;
      int a = 0, b = 1250;
      if (parts == 2 && split) (part == 0 ? b : a) = A.mid[size_t(r)];
      if (parts == 2 && !split && (s & 1) != part) continue;
      for (int k = a; k < b; ++k) slot[row[k]] += 0.1f;
    }
  }
}

double timed(int threads, const std::function<void(int, int)>& f) {
  const double t0 = bench::now_s();
  if (threads == 1) {
    f(0, 1);
  } else {
    std::thread other([&] { f(1, 2); });
    f(0, 2);
    other.join();
  }
  return bench::now_s() - t0;
}

// Round trip of one cache line between two threads, ns (median of 3).
double ping_pong(int n) {
  std::vector<double> v;
  for (int rep = 0; rep < 3; ++rep) {
    alignas(64) std::atomic<int> flag{0};
    const double t0 = bench::now_s();
    std::thread other([&] {
      for (int i = 0; i < n; ++i) {
        while (flag.load(std::memory_order_acquire) != 2 * i + 1) {
        }
        flag.store(2 * i + 2, std::memory_order_release);
      }
    });
    for (int i = 0; i < n; ++i) {
      flag.store(2 * i + 1, std::memory_order_release);
      while (flag.load(std::memory_order_acquire) != 2 * i + 2) {
      }
    }
    other.join();
    v.push_back((bench::now_s() - t0) / n * 1e9);
  }
  return bench::median(v);
}

}  // namespace

int main(int argc, char** argv) {
  const bool q = bench::quick(argc, argv);
  int reps = q ? 3 : 9;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--reps") == 0) reps = std::max(1, std::atoi(argv[i + 1]));
  const int64_t scale = q ? 16 : 1;  // --quick: 1/16 of the work
  Arrays A;
  A.stream.assign((size_t(64) << 20) / 8, 1);
  A.rmw.assign((size_t(16) << 20) / 4, 0.f);
  A.n_rows = int((size_t(32) << 20) / 2 / 1250);
  A.rows.resize(size_t(A.n_rows) * 1250);
  A.mid.assign(size_t(A.n_rows), 625);
  for (int r = 0; r < A.n_rows; ++r)  // sorted targets, 10 per 100 of the 12,500
    for (int k = 0; k < 1250; ++k)
      A.rows[size_t(r) * 1250 + size_t(k)] =
          uint16_t((int64_t(k) * 12500 + (int64_t(r) * 7919 + k * 31) % 10) / 1250);
  for (auto& rg : A.ring) rg.assign(16 * 12500, 0.f);

  std::printf("2-thread ceiling: the same work on 1 and 2 threads, %d alternated runs\n", reps);
  std::printf("%-14s  %8.1f ns round trip of a cache line between the threads\n", "ping-pong",
              ping_pong(q ? 20000 : 200000));
  const std::vector<std::pair<std::string, std::function<void(int, int)>>> cases = {
      {"compute", [&](int p, int n) { compute(p, n, 40000000 / scale); }},
      {"stream 64MB",
       [&](int p, int n) { stream(A, p, n, int(std::max<int64_t>(1, 40 / scale))); }},
      {"rmw 1MB", [&](int p, int n) { rmw(A, p, n, size_t(1) << 20, 100000000 / scale); }},
      {"rmw 16MB", [&](int p, int n) { rmw(A, p, n, size_t(16) << 20, 60000000 / scale); }},
      {"rows split", [&](int p, int n) { rows(A, p, n, true, int(10000 / scale)); }},
      {"rows whole", [&](int p, int n) { rows(A, p, n, false, int(10000 / scale)); }},
  };
  for (const auto& [name, f] : cases) {
    timed(1, f);
    timed(2, f);
    std::vector<double> w1, w2, ratio;
    for (int k = 0; k < reps; ++k) {
      const double a = timed(1, f), b = timed(2, f);
      w1.push_back(a);
      w2.push_back(b);
      ratio.push_back(a / b);
    }
    std::printf(
        "%-14s  %8.3f x  2/1-thread speed-up (range %.3f-%.3f; 1 thread %.4f s, 2: %.4f s)\n",
        name.c_str(), bench::median(ratio), *std::min_element(ratio.begin(), ratio.end()),
        *std::max_element(ratio.begin(), ratio.end()), bench::median(w1), bench::median(w2));
    std::fflush(stdout);
  }
  return 0;
}
