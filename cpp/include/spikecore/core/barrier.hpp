#pragma once
// The core's one barrier, split in two halves (the engine's window barrier; ThreadPool::barrier
// is arrive() then wait()): arrive() announces that this thread's work (in the engine: its
// spikes of the window) is complete and returns at once; done(ticket) tells whether every
// thread has arrived; wait(ticket) blocks until then. Between the two a thread can do work that
// needs nothing of the others (the run loop draws the next window's Poisson input there), so the
// first thread to arrive works instead of waiting, and finishes its next window sooner.
//
// wait() spins (with pause) for up to an adaptive 2-50 microseconds, then yields a few times, then
// sleeps on a condition variable, so that a waiting thread gives its core away on a busy machine
// but does not pay a wake-up (an inter-processor interrupt, tens of microseconds on a VM) for the
// short waits of a balanced window.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define SPIKECORE_PAUSE() _mm_pause()
#else
#define SPIKECORE_PAUSE() ((void)0)
#endif

namespace spikecore {

class SplitBarrier {
 public:
  static constexpr int64_t kMinSpinNs = 2000, kMaxSpinNs = 50000;

  explicit SplitBarrier(int n) : n_(n) {}
  int size() const { return n_; }

  // This thread's arrival; the ticket identifies the barrier for done() and wait().
  uint32_t arrive() {
    const uint32_t g = gen_.load(std::memory_order_acquire);
    if (count_.fetch_add(1, std::memory_order_acq_rel) == n_ - 1) {
      count_.store(0, std::memory_order_relaxed);
      gen_.store(g + 1, std::memory_order_seq_cst);
      // sleepers_ is incremented under mu_ before a sleeper re-checks gen_ (seq_cst on both
      // sides): either we see it and notify under the lock, or it sees the new generation.
      if (sleepers_.load(std::memory_order_seq_cst) > 0) {
        std::lock_guard<std::mutex> lk(mu_);
        cv_.notify_all();
      }
    }
    return g;
  }
  // Have all threads arrived at the barrier of this ticket?
  bool done(uint32_t ticket) const { return gen_.load(std::memory_order_acquire) != ticket; }
  // Wait for the barrier of `ticket`. spin_ns is the caller's (per thread) spin budget, adapted
  // here: halved when a wait outlasted it (the other thread was likely descheduled, as on a
  // busy machine, and spinning only burns a core others need), doubled up to kMaxSpinNs when a
  // wait ended while spinning.
  void wait(uint32_t ticket, int64_t& spin_ns) {
    if (done(ticket)) return;
    using clock = std::chrono::steady_clock;
    const auto t0 = clock::now();
    for (;;) {
      for (int k = 0; k < 32; ++k) {
        if (done(ticket)) {
          spin_ns = std::min<int64_t>(kMaxSpinNs, 2 * spin_ns);
          return;
        }
        SPIKECORE_PAUSE();
      }
      if ((clock::now() - t0).count() >= spin_ns) break;
    }
    spin_ns = std::max<int64_t>(kMinSpinNs, spin_ns / 2);
    for (int k = 0; k < 4; ++k) {
      if (done(ticket)) return;
      std::this_thread::yield();
    }
    std::unique_lock<std::mutex> lk(mu_);
    sleepers_.fetch_add(1, std::memory_order_seq_cst);
    cv_.wait(lk, [&] { return gen_.load(std::memory_order_seq_cst) != ticket; });
    sleepers_.fetch_sub(1, std::memory_order_seq_cst);
  }

 private:
  int n_;
  alignas(64) std::atomic<uint32_t> count_{0};
  alignas(64) std::atomic<uint32_t> gen_{0};
  alignas(64) std::atomic<int> sleepers_{0};
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace spikecore
