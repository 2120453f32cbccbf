// The training kernels' buffer pool: size classes, reuse of released blocks, alignment, the
// cache limit, trimming, and use from several threads.
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "check.hpp"
#include "spikecore/core/buffer_pool.hpp"

using namespace spikecore;

TEST_CASE("pool size classes: at most 1/8 above the request, pages; 2 MiB from 4 MiB on") {
  for (std::size_t b : {std::size_t(1), std::size_t(4096), std::size_t(4097), std::size_t(100000),
                        std::size_t(262144), std::size_t(6553600), std::size_t(3) << 20,
                        std::size_t(5) << 20, std::size_t(65536000)}) {
    const std::size_t c = pool_size_class(b);
    CHECK(c >= b);
    CHECK(c % 4096 == 0);
    if (b >= (std::size_t(4) << 20))
      CHECK(c < b + (std::size_t(2) << 20));
    else if (b >= 4096)
      CHECK(c <= b + b / 8 + 4096);
    if (b >= (std::size_t(4) << 20)) CHECK(c % (std::size_t(2) << 20) == 0);
    CHECK(pool_size_class(c) == c);  // a class is its own class
  }
}

TEST_CASE("pool reuses released blocks of the same class") {
  pool_trim();
  pool_set_limit(std::size_t(1) << 30);
  const PoolStats s0 = pool_stats();
  void* a = pool_acquire(6553600);
  CHECK(reinterpret_cast<std::uintptr_t>(a) % (std::size_t(2) << 20) == 0);
  std::memset(a, 1, 6553600);  // writable
  pool_release(a);
  CHECK(pool_stats().cached_bytes - s0.cached_bytes == pool_size_class(6553600));
  void* b = pool_acquire(6553000);  // same class: the same block
  CHECK(b == a);
  const PoolStats s1 = pool_stats();
  CHECK(s1.hits == s0.hits + 1);
  CHECK(s1.misses == s0.misses + 1);
  CHECK(s1.live_bytes == s0.live_bytes + pool_size_class(6553600));
  void* c = pool_acquire(300000);
  CHECK(reinterpret_cast<std::uintptr_t>(c) % 64 == 0);
  pool_release(b);
  pool_release(c);
  pool_release(nullptr);  // ignored
  CHECK(pool_stats().live_bytes == s0.live_bytes);
  pool_trim();
  CHECK(pool_stats().cached_bytes == 0);
}

TEST_CASE("pool limit: released blocks beyond it are unmapped") {
  pool_trim();
  pool_set_limit(0);
  void* a = pool_acquire(1 << 20);
  pool_release(a);
  CHECK(pool_stats().cached_bytes == 0);
  pool_set_limit(std::size_t(3) << 20);
  void* b = pool_acquire(std::size_t(2) << 20);
  void* c = pool_acquire(std::size_t(2) << 20);
  pool_release(b);
  pool_release(c);  // both would exceed 3 MiB: one is dropped
  CHECK(pool_stats().cached_bytes <= (std::size_t(3) << 20));
  CHECK(pool_stats().cached_bytes >= (std::size_t(2) << 20));
  pool_set_limit(std::size_t(1) << 30);
  pool_trim();
}

TEST_CASE("pool: a block above 32 MiB is not kept idle next to a small live set") {
  pool_trim();
  pool_set_limit(std::size_t(1) << 30);
  const std::size_t big = std::size_t(65) << 20;
  void* a = pool_acquire(big);
  pool_release(a);  // nothing else live: unmapped, as the C library would
  CHECK(pool_stats().cached_bytes == 0);
  void* b = pool_acquire(6553600);  // small blocks are kept
  pool_release(b);
  CHECK(pool_stats().cached_bytes == pool_size_class(6553600));
  pool_trim();
}

TEST_CASE("pool from several threads") {
  pool_trim();
  const PoolStats s0 = pool_stats();
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([t] {
      for (int i = 0; i < 200; ++i) {
        const std::size_t n = std::size_t(65536) * (1 + (i + t) % 7);
        auto* p = static_cast<unsigned char*>(pool_acquire(n));
        p[0] = p[n - 1] = static_cast<unsigned char>(i);
        CHECK(p[0] == p[n - 1]);
        pool_release(p);
      }
    });
  for (auto& th : ts) th.join();
  CHECK(pool_stats().live_bytes == s0.live_bytes);
  CHECK(pool_stats().hits > s0.hits);
  pool_trim();
}

TEST_MAIN()
