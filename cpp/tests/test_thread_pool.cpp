// C++ unit tests of the thread team (spikecore::ThreadPool) and the training kernels' chunk team
// (spikecore::train::parallel_blocks): every member runs, barriers order phases, exceptions
// propagate, and a team whose threads cannot all be started throws a clear error and leaves
// nothing running (checked under a virtual-memory limit where no sanitizer is in the build).
#include <sys/resource.h>

#include <atomic>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "check.hpp"
#include "spikecore/core/errors.hpp"
#include "spikecore/core/thread_pool.hpp"
#include "spikecore/train/kernels.hpp"

using namespace spikecore;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SC_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SC_SANITIZED 1
#endif
#endif

TEST_CASE("every rank runs once per run(), barriers separate phases") {
  for (int n : {1, 2, 3, 5}) {
    ThreadPool pool(n);
    CHECK(pool.size() == n);
    std::vector<int> a(size_t(n), 0), b(size_t(n), 0);
    for (int rep = 0; rep < 50; ++rep) {
      pool.run([&](int r) {
        a[size_t(r)] = rep + 1;
        pool.barrier();
        // after the barrier every member's phase-1 write is visible
        int s = 0;
        for (int x : a) s += x;
        b[size_t(r)] = s;
        pool.barrier();
      });
      for (int r = 0; r < n; ++r) CHECK(b[size_t(r)] == n * (rep + 1));
    }
  }
}

TEST_CASE("block_range covers [0, n) in order") {
  for (int64_t n : {0, 1, 7, 100}) {
    for (int k : {1, 2, 3, 8}) {
      int64_t prev = 0;
      for (int b = 0; b < k; ++b) {
        int64_t lo, hi;
        ThreadPool::block_range(n, k, b, lo, hi);
        CHECK(lo == prev);
        CHECK(hi >= lo);
        prev = hi;
      }
      CHECK(prev == n);
    }
  }
}

TEST_CASE("an exception in any member is rethrown and the pool stays usable") {
  ThreadPool pool(3);
  for (int bad : {0, 2}) {
    bool caught = false;
    try {
      pool.run([&](int r) {
        if (r == bad) throw std::runtime_error("boom " + std::to_string(r));
      });
    } catch (const std::runtime_error& e) {
      caught = std::string(e.what()) == "boom " + std::to_string(bad);
    }
    CHECK(caught);
    std::atomic<int> count{0};
    pool.run([&](int) { count.fetch_add(1); });
    CHECK(count.load() == 3);
  }
  CHECK_THROWS(ThreadPool(0));
}

TEST_CASE("every thread count is checked against the one bound kMaxThreads") {
  auto message = [](int n) {
    try {
      ThreadPool pool(n);
    } catch (const value_error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(message(0) == "n_threads: must be in [1, 1024], got 0");
  CHECK(message(kMaxThreads + 1) == "n_threads: must be in [1, 1024], got 1025");
  CHECK_THROWS(require_threads(-3, "threads"));
  require_threads(kMaxThreads);  // the bound itself is allowed
}

TEST_CASE("run() from a second thread while a job runs throws, and the first job completes") {
  for (int n : {1, 3}) {
    ThreadPool pool(n);
    std::atomic<bool> started{false}, release{false};
    std::atomic<int> done{0};
    std::thread a([&] {
      pool.run([&](int r) {
        if (r == 0) started.store(true);
        while (!release.load()) std::this_thread::yield();
        done.fetch_add(1);
      });
    });
    while (!started.load()) std::this_thread::yield();
    std::string msg;
    try {
      pool.run([](int) {});
    } catch (const std::runtime_error& e) {
      msg = e.what();
    }
    release.store(true);
    a.join();
    CHECK(msg.rfind("thread team: busy", 0) == 0);
    CHECK(done.load() == n);
    std::atomic<int> count{0};
    pool.run([&](int) { count.fetch_add(1); });  // free again
    CHECK(count.load() == n);
  }
}

TEST_CASE("parallel_blocks covers every element once, for any thread count") {
  for (int t : {1, 2, 4}) {
    std::vector<int> hits(1000, 0);
    train::parallel_blocks(
        t, 1000,
        [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) ++hits[size_t(i)];
        },
        16);
    int bad = 0;
    for (int h : hits) bad += h != 1;
    CHECK(bad == 0);
  }
}

#ifndef SC_SANITIZED
namespace {
// Lowers the address-space limit to (current size + margin) for its lifetime.
struct AddressSpaceLimit {
  rlimit old{};
  bool ok = false;
  explicit AddressSpaceLimit(size_t margin) {
    if (getrlimit(RLIMIT_AS, &old) != 0) return;
    size_t pages = 0;
    if (FILE* f = std::fopen("/proc/self/statm", "r")) {
      if (std::fscanf(f, "%zu", &pages) != 1) pages = 0;
      std::fclose(f);
    }
    if (pages == 0) return;
    rlimit lim = old;
    lim.rlim_cur = rlim_t(pages) * 4096 + margin;
    ok = setrlimit(RLIMIT_AS, &lim) == 0;
  }
  ~AddressSpaceLimit() {
    if (ok) setrlimit(RLIMIT_AS, &old);
  }
};
}  // namespace

TEST_CASE("a team whose threads cannot start throws, joins what started, and the process goes on") {
  // each thread needs a stack (8 MiB by default): 64 of them cannot fit in 24 MiB more
  for (int which = 0; which < 2; ++which) {
    std::string msg;
    {
      AddressSpaceLimit lim(24u << 20);
      CHECK(lim.ok);
      try {
        if (which == 0) {
          ThreadPool pool(64);
        } else {
          train::parallel_blocks(64, 1 << 16, [](int64_t, int64_t) {}, 1);
        }
      } catch (const std::runtime_error& e) {
        msg = e.what();
      }
    }
    CHECK(msg.rfind("n_threads: could not start thread ", 0) == 0);
    CHECK(msg.find(" of 64 (") != std::string::npos);
    // limits restored: teams start again
    ThreadPool pool(3);
    std::atomic<int> count{0};
    pool.run([&](int) { count.fetch_add(1); });
    CHECK(count.load() == 3);
    std::vector<int> hits(4096, 0);
    train::parallel_blocks(
        3, 4096,
        [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) ++hits[size_t(i)];
        },
        16);
    int bad = 0;
    for (int h : hits) bad += h != 1;
    CHECK(bad == 0);
  }
}
#endif

TEST_MAIN()
