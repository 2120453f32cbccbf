// Construction, the thread team and the run loop (window by window: update, barrier, deliver).
#include "spikecore/engine/network.hpp"

#include <algorithm>
#include <cmath>

#include "internal.hpp"

namespace spikecore {

using namespace engine_detail;

Network::Network(double dt, int n_threads, uint64_t seed, double max_delay_ms)
    : dt_(dt), seed_(seed) {
  require_positive(dt, "dt");
  require(n_threads >= 1, "n_threads", "must be >= 1, got " + std::to_string(n_threads));
  require(n_threads <= 1024, "n_threads", "must be <= 1024");
  require_positive(max_delay_ms, "max_delay");
  const double md = std::floor(max_delay_ms / dt + 1e-9);
  require(md >= 1, "max_delay", "must be at least one step (dt)");
  max_delay_steps_ = int32_t(std::min<double>(md, 65535.0));
  pool_ = std::make_unique<ThreadPool>(n_threads);
}

void Network::set_step(int64_t s) {
  require(s >= 0, "step", "must be >= 0");
  step_ = s;
}

void Network::set_n_threads(int n) {
  require(n >= 1 && n <= 1024, "n_threads", "must be in [1, 1024], got " + std::to_string(n));
  if (n == pool_->size()) return;
  pool_ = std::make_unique<ThreadPool>(n);
  for (auto& pj : projs_) pj.dirty = true;
}

const Population& Network::population(int32_t p) const {
  require_index(p, int64_t(pops_.size()), "population");
  return pops_[size_t(p)];
}
Population& Network::pop_ref(int32_t p) {
  require_index(p, int64_t(pops_.size()), "population");
  return pops_[size_t(p)];
}
const Projection& Network::projection(int32_t j) const {
  require_index(j, int64_t(projs_.size()), "projection");
  return projs_[size_t(j)];
}

size_t Network::memory_bytes() const {
  size_t b = 0;
  for (const auto& pj : projs_) b += pj.m.memory_bytes() + pj.bounds.capacity() * 8;
  for (const auto& p : pops_)
    b += p.ring.memory_bytes() + p.s.size() * 16 + p.a.capacity() * 4 +
         (p.br.u.capacity() + p.br.bias.capacity() + p.ce.c.capacity() + p.ce.lam.capacity() +
          p.ce.one_m_lam.capacity()) *
             4;
  return b;
}

// ----------------------------------------------------------------------------------- running

void Network::prepare(int64_t n_steps) {
  prepare_delivery();
  prepare_inputs();
  thread_events_.assign(size_t(pool_->size()) * kPad, 0);
  prepare_records(n_steps);
}

void Network::run(int64_t n_steps) {
  require(n_steps >= 0, "n_steps", "must be >= 0");
  if (n_steps == 0) return;
  prepare(n_steps);
  const int T = pool_->size();
  const int64_t t0 = step_;
  const int32_t n_pops = int32_t(pops_.size());
  const std::vector<size_t> rec_row0 = state_record_rows(t0);
  const int64_t W = window_;
  pool_->run([&](int rank) {
    std::vector<size_t> next_row(rec_row0);
    int64_t widx = 0;
    for (int64_t w0 = t0; w0 < t0 + n_steps; w0 += W, ++widx) {
      const int64_t wn = std::min<int64_t>(W, t0 + n_steps - w0);
      const int par = int(widx & 1);
      for (int32_t p = 0; p < n_pops; ++p) {
        SpikeList& l = spikes_[par][size_t(p)][size_t(rank)];
        l.v.clear();
        l.off.assign(1, 0);
      }
      // phase 1: update my block of every population for the steps of the window
      for (int64_t t = w0; t < w0 + wn; ++t) {
        for (int32_t p = 0; p < n_pops; ++p) {
          SpikeList& l = spikes_[par][size_t(p)][size_t(rank)];
          update_block(pops_[size_t(p)], p, rank, t, l.v);
          l.off.push_back(int32_t(l.v.size()));
        }
        record_state_block(rank, t, next_row);
      }
      pool_->barrier();
      // phase 2: deliver the window's spikes step by step into my targets' ring slots
      for (int64_t t = w0; t < w0 + wn; ++t) {
        const int s = int(t - w0);
        for (auto& pj : projs_) deliver(pj, rank, t, par, s);
        if (rank == 0) record_spike_step(par, s, t);
      }
    }
  });
  for (int r = 0; r < T; ++r) events_ += thread_events_[size_t(r) * kPad];
  step_ += n_steps;
}
}  // namespace spikecore
