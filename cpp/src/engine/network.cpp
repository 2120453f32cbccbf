// Construction, the thread team and the run loop (window by window: update, barrier, deliver).
#include "spikecore/engine/network.hpp"

#include <algorithm>
#include <cmath>

#include "internal.hpp"
#include "spikecore/engine/phase_timers.hpp"

namespace spikecore {

using namespace engine_detail;

Network::Network(double dt, int n_threads, uint64_t seed, double max_delay_ms)
    : dt_(dt), seed_(seed) {
  require_positive(dt, "dt");
  require_threads(n_threads);
  require_positive(max_delay_ms, "max_delay");
  const double md = std::floor(max_delay_ms / dt + 1e-9);
  require(md >= 1, "max_delay", "must be at least one step (dt)");
  max_delay_steps_ = int32_t(std::min<double>(md, 65535.0));
  pool_ = std::make_unique<ThreadPool>(n_threads);
}

void Network::set_step(int64_t s) {
  require(s >= 0 && s < (int64_t(1) << 53), "step", "must lie in [0, 2**53)");
  step_ = s;
}

void Network::set_n_threads(int n) {
  require_threads(n);
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

std::vector<int64_t> Network::memory_parts() const {
  auto bytes = [](const auto& v) { return int64_t(v.capacity() * sizeof(v[0])); };
  std::vector<int64_t> b(5, 0);
  for (const auto& pj : projs_) b[0] += int64_t(pj.m.memory_bytes()) + bytes(pj.bounds);
  for (const auto& p : pops_) {
    b[1] += int64_t(p.ring.memory_bytes());
    b[2] += int64_t(p.s.size()) * 16 + bytes(p.a) + bytes(p.br.u) + bytes(p.br.bias) +
            bytes(p.ce.c) + bytes(p.ce.lam) + bytes(p.ce.one_m_lam) + bytes(p.conv.theta) +
            bytes(p.conv.spike_w) + bytes(p.conv.count);
    b[4] += bytes(p.i_const) + bytes(p.i_steps) + bytes(p.ev_step) + bytes(p.ev_id) +
            bytes(p.ev_w) + bytes(p.src_step) + bytes(p.src_id) + bytes(p.src_rate) +
            bytes(p.src_thr);
  }
  for (const auto& r : spike_recs_) b[3] += bytes(r.step) + bytes(r.id);
  for (const auto& r : state_recs_) b[3] += bytes(r.step) + bytes(r.data);
  for (const auto& r : rate_recs_) b[3] += bytes(r.count);
  for (const auto& in : poisson_) b[4] += bytes(in.thr);
  for (const auto& par : spikes_)
    for (const auto& pop : par)
      for (const auto& l : pop) b[4] += bytes(l.v) + bytes(l.off);
  return b;
}

// ----------------------------------------------------------------------------------- running

void Network::prepare(int64_t n_steps) {
  // each thread's targets in a ring region of their own (DelayRing::set_blocks)
  const int T = pool_->size();
  std::vector<int32_t> edges(size_t(T) + 1);
  for (auto& p : pops_) {
    const int32_t K = p.br.K;
    for (int b = 1; b < T; ++b) {
      int64_t lo, hi;
      thread_block(p.n, b, lo, hi);
      edges[size_t(b)] = int32_t(lo * K);
    }
    edges[0] = 0;
    edges[size_t(T)] = p.ring.targets();
    p.ring.set_blocks(edges);
  }
  prepare_delivery();
  prepare_inputs();
  thread_events_.assign(size_t(pool_->size()) * kPad, 0);
  prepare_records(n_steps);
}

// Phase 1 of a window (thread `rank`): update my block of every population for steps
// [w0, w0 + wn), the spikes into my lists of parity par, and the state recorders.
void Network::update_phase(int rank, int par, int64_t w0, int64_t wn,
                           std::vector<size_t>& next_row) {
  phase::set_rank(rank);
  const int32_t n_pops = int32_t(pops_.size());
  for (int32_t p = 0; p < n_pops; ++p) {
    SpikeList& l = spikes_[par][size_t(p)][size_t(rank)];
    l.v.clear();
    l.off.assign(1, 0);
  }
  for (int64_t t = w0; t < w0 + wn; ++t) {
    for (int32_t p = 0; p < n_pops; ++p) {
      SpikeList& l = spikes_[par][size_t(p)][size_t(rank)];
      update_block(pops_[size_t(p)], p, rank, t, l.v);
      l.off.push_back(int32_t(l.v.size()));
    }
    phase::Scope ps(phase::Record);
    record_state_block(rank, t, next_row);
  }
}

// Phase 2 (after a barrier or the exchange): deliver the window's spikes step by step into my
// targets' ring slots; thread 0 records spikes and rates.
void Network::deliver_phase(int rank, int par, int64_t w0, int64_t wn) {
  for (int64_t t = w0; t < w0 + wn; ++t) {
    const int s = int(t - w0);
    {
      phase::Scope ps(phase::Deliver);
      for (auto& pj : projs_) deliver(pj, rank, t, par, s);
    }
    phase::Scope ps(phase::Record);
    if (rank == 0) record_spike_step(par, s, t);
  }
}

void Network::run(int64_t n_steps) {
  require(n_steps >= 0, "n_steps", "must be >= 0");
  require(part_size_ == 1, "n_steps",
          "a partitioned network runs window by window (window_begin / window_update / "
          "window_deliver): the spikes of the other ranks are needed");
  if (n_steps == 0) return;
  prepare(n_steps);
  const int T = pool_->size();
  const int64_t t0 = step_;
  const std::vector<size_t> rec_row0 = state_record_rows(t0);
  const int64_t W = window_;
  if (T > 1 && (!wbar_ || wbar_->size() != T)) wbar_ = std::make_unique<SplitBarrier>(T);
  pool_->run([&](int rank) {
    std::vector<size_t> next_row(rec_row0);
    int64_t spin_ns = SplitBarrier::kMaxSpinNs;
    int64_t widx = 0;
    for (int64_t w0 = t0; w0 < t0 + n_steps; w0 += W, ++widx) {
      const int64_t wn = std::min<int64_t>(W, t0 + n_steps - w0);
      const int par = int(widx & 1);
      update_phase(rank, par, w0, wn, next_row);
      if (T > 1) {
        // split barrier: after announcing my spikes, draw the next window's Poisson input until
        // the others have arrived (work that needs nothing of theirs), then wait for the rest
        const uint32_t ticket = wbar_->arrive();
        const int64_t w1 = w0 + wn;
        if (w1 < t0 + n_steps) {
          phase::Scope ps(phase::Input);
          ahead_begin(rank, w1, std::min<int64_t>(W, t0 + n_steps - w1));
          while (!wbar_->done(ticket) && ahead_step(rank)) {
          }
        }
        phase::WaitScope ws;
        wbar_->wait(ticket, spin_ns);
      }
      deliver_phase(rank, par, w0, wn);
    }
  });
  for (int r = 0; r < T; ++r) events_ += thread_events_[size_t(r) * kPad];
  step_ += n_steps;
}

// ------------------------------------------------------------------------- distributed runs

void Network::set_partition(int rank, int n_ranks) {
  require(n_ranks >= 1, "n_ranks", "must be >= 1, got " + std::to_string(n_ranks));
  require(rank >= 0 && rank < n_ranks, "rank",
          "must be in [0, " + std::to_string(n_ranks) + "), got " + std::to_string(rank));
  require(projs_.empty(), "rank", "set the partition before the first projection");
  part_rank_ = rank;
  part_size_ = n_ranks;
}

void Network::owned_range(int32_t n, int64_t& lo, int64_t& hi) const {
  ThreadPool::block_range(n, part_size_, part_rank_, lo, hi);
}

// The owned range cut into T blocks of about equal size, the inner edges rounded to a multiple of
// 16 neurons (absolute index: a cache line of a float state array), so that no cache line of the
// state arrays is written by two threads in every step. The numbers do not depend on the edges
// (inputs are pure functions of neuron and step, and delivery visits the threads' spikes in
// neuron order).
void Network::thread_block(int32_t n, int b, int64_t& lo, int64_t& hi) const {
  int64_t a, e;
  owned_range(n, a, e);
  const int T = pool_->size();
  constexpr int64_t G = 16;
  auto edge = [&](int k) -> int64_t {
    if (k <= 0) return a;
    if (k >= T) return e;
    const int64_t x = a + ((e - a) * k + T / 2) / T;
    return std::clamp<int64_t>((x + G / 2) / G * G, a, e);
  };
  lo = edge(b);
  hi = edge(b + 1);
}

int32_t Network::window_begin(int64_t n_steps) {
  require(n_steps >= 0, "n_steps", "must be >= 0");
  require(win_n_ == 0, "n_steps", "the previous window was updated but not delivered");
  window_abandon();
  prepare(n_steps);
  win_end_ = step_ + n_steps;
  win_idx_ = 0;
  return window_;
}

void Network::set_window(int32_t w) {
  require(win_n_ == 0, "window", "the previous window was updated but not delivered");
  require(w >= 1 && w <= window_, "window",
          "must be in [1, " + std::to_string(window_) + "] (no spike may land inside its window)");
  window_ = w;
}

int32_t Network::window_update(std::vector<int32_t>& ids, std::vector<int32_t>& counts) {
  require(win_n_ == 0, "window", "the previous window was updated but not delivered");
  require(step_ < win_end_, "window", "no steps left: call window_begin first");
  const int T = pool_->size();
  const int64_t w0 = step_;
  const int64_t wn = std::min<int64_t>(window_, win_end_ - w0);
  const int par = int(win_idx_ & 1);
  const int32_t n_pops = int32_t(pops_.size());
  for (int32_t p = 0; p < n_pops; ++p) spikes_[par][size_t(p)].resize(size_t(T));
  const std::vector<size_t> rec_row0 = state_record_rows(w0);
  pool_->run([&](int rank) {
    std::vector<size_t> next_row(rec_row0);
    update_phase(rank, par, w0, wn, next_row);
  });
  ids.clear();
  counts.assign(size_t(wn) * size_t(n_pops), 0);
  for (int64_t s = 0; s < wn; ++s)
    for (int32_t p = 0; p < n_pops; ++p)
      for (int r = 0; r < T; ++r) {
        const SpikeList& l = spikes_[par][size_t(p)][size_t(r)];
        ids.insert(ids.end(), l.v.begin() + l.off[size_t(s)], l.v.begin() + l.off[size_t(s) + 1]);
        counts[size_t(s) * size_t(n_pops) + size_t(p)] += l.off[size_t(s) + 1] - l.off[size_t(s)];
      }
  win_n_ = int32_t(wn);
  return win_n_;
}

void Network::window_deliver(const int32_t* ids, int64_t n_ids, const int32_t* counts,
                             int64_t n_counts, int32_t n_ranks) {
  require(win_n_ > 0, "window", "call window_update before window_deliver");
  const int64_t wn = win_n_;
  const int32_t n_pops = int32_t(pops_.size());
  require(n_ranks >= 1, "n_ranks", "must be >= 1");
  require(n_counts == int64_t(n_ranks) * wn * n_pops, "counts",
          "must hold n_ranks x window steps x populations = " +
              std::to_string(int64_t(n_ranks) * wn * n_pops) + " values, got " +
              std::to_string(n_counts));
  int64_t total = 0;
  for (int64_t k = 0; k < n_counts; ++k) {
    require(counts[k] >= 0, "counts", "must be >= 0");
    total += counts[k];
  }
  require(total == n_ids, "ids",
          "length " + std::to_string(n_ids) + " differs from the sum of counts " +
              std::to_string(total));
  const int par = int(win_idx_ & 1);
  for (int32_t p = 0; p < n_pops; ++p) {
    auto& lists = spikes_[par][size_t(p)];
    lists.resize(size_t(n_ranks));
    for (auto& l : lists) {
      l.v.clear();
      l.off.assign(1, 0);
    }
  }
  const int32_t* x = ids;
  for (int32_t r = 0; r < n_ranks; ++r)
    for (int64_t s = 0; s < wn; ++s)
      for (int32_t p = 0; p < n_pops; ++p) {
        const int32_t c = counts[(int64_t(r) * wn + s) * n_pops + p];
        const int32_t n = pops_[size_t(p)].n;
        SpikeList& l = spikes_[par][size_t(p)][size_t(r)];
        for (int32_t k = 0; k < c; ++k) {
          require(x[k] >= 0 && x[k] < n, "ids", "spike id out of range of its population");
          require(k == 0 || x[k] > x[k - 1], "ids", "must be increasing within a step");
        }
        l.v.insert(l.v.end(), x, x + c);
        l.off.push_back(int32_t(l.v.size()));
        x += c;
      }
  end_window(par);
}

void Network::window_abandon() {
  require(win_n_ == 0, "window", "the current window was updated but not delivered");
  for (auto& r : state_recs_) {
    const size_t rows =
        size_t(std::lower_bound(r.step.begin(), r.step.end(), step_) - r.step.begin());
    r.step.resize(rows);
    r.data.resize(rows * r.vars.size() * r.idx.size());
  }
  for (auto& r : rate_recs_)
    if (int64_t(r.count.size()) > step_ - r.start)
      r.count.resize(size_t(std::max<int64_t>(0, step_ - r.start)));
  win_end_ = step_;
}

void Network::window_finish() {
  require(win_n_ > 0, "window", "no window waits for its delivery");
  require(part_size_ == 1, "window",
          "a rank of several holds only its own spikes: the window needs the exchange");
  end_window(int(win_idx_ & 1));
}

void Network::end_window(int par) {
  const int T = pool_->size();
  const int64_t w0 = step_, wn = win_n_;
  pool_->run([&](int rank) { deliver_phase(rank, par, w0, wn); });
  for (int r = 0; r < T; ++r) {
    events_ += thread_events_[size_t(r) * kPad];
    thread_events_[size_t(r) * kPad] = 0;
  }
  step_ += wn;
  ++win_idx_;
  win_n_ = 0;
}
}  // namespace spikecore
