// External inputs: Poisson inputs, input events, spike-source schedules and rates, current
// input; what each adds to a step (called by the update of engine/update.cpp).
#include "spikecore/engine/network.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "internal.hpp"

// Hot loops start on a 64-byte boundary. Without it their placement follows the code around them,
// and the delivery loop ran 30 % slower in some builds of unchanged source (docs/bench.md).
// The command line's options (-ffp-contract=off, ...) still apply.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("align-loops=64")
#endif

namespace spikecore {

using namespace engine_detail;

namespace {

// Philox4x32-10 on L independent counters at once (structure of arrays, so the compiler
// vectorises the 32 x 32 -> 64-bit products); the same function as philox4x32() lane by lane.
template <int L>
inline void philox_lanes(uint32_t* __restrict c0, uint32_t* __restrict c1, uint32_t* __restrict c2,
                         uint32_t* __restrict c3, uint32_t k0, uint32_t k1) {
  constexpr uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u, W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  for (int r = 0; r < 10; ++r) {
    for (int l = 0; l < L; ++l) {
      const uint64_t p0 = uint64_t(M0) * c0[l];
      const uint64_t p1 = uint64_t(M1) * c2[l];
      const uint32_t n0 = uint32_t(p1 >> 32) ^ c1[l] ^ k0;
      const uint32_t n2 = uint32_t(p0 >> 32) ^ c3[l] ^ k1;
      c0[l] = n0;
      c1[l] = uint32_t(p1);
      c2[l] = n2;
      c3[l] = uint32_t(p0);
    }
    k0 += W0;
    k1 += W1;
  }
}

// Poisson counts for neurons [lo, hi) at step t, by inversion of a 32-bit uniform word:
// count = #{k : u >= thr[k]}, branch-free and vectorised. Neurons are grouped in global batches
// of 4 L: neuron i = 4 L B + L q + l uses word q of the Philox block with counter (L B + l, 0, t).
// A pure function of (seed, stream, neuron, step), whatever the thread blocks. sink(base, a, b,
// cnt) receives the counts cnt[l] of neurons base + l, l in [a, b).
constexpr int kLanes = 64;
template <typename Sink>
inline void poisson_table(const PoissonInput& in, uint64_t seed, int64_t t, int32_t lo, int32_t hi,
                          Sink&& sink) {
  const uint64_t key = splitmix64(seed ^ splitmix64(in.stream + 0x632BE59BD9B4E019ull));
  const uint32_t k0 = uint32_t(key), k1 = uint32_t(key >> 32);
  const uint32_t tlo = uint32_t(uint64_t(t)), thi = uint32_t(uint64_t(t) >> 32);
  constexpr int L = kLanes;
  alignas(64) uint32_t c[4][L];
  alignas(64) uint32_t cnt[L];
  const uint32_t* thr = in.thr.data();
  const int nthr = int(in.thr.size());
  for (int64_t B = lo / (4 * L); B * 4 * L < hi; ++B) {
    for (int l = 0; l < L; ++l) {
      c[0][l] = uint32_t(B * L + l);
      c[1][l] = 0;
      c[2][l] = tlo;
      c[3][l] = thi;
    }
    philox_lanes<L>(c[0], c[1], c[2], c[3], k0, k1);
    for (int q = 0; q < 4; ++q) {
      const int64_t base = B * 4 * L + int64_t(q) * L;
      const int64_t a = std::max<int64_t>(lo, base) - base;
      const int64_t b = std::min<int64_t>(hi, base + L) - base;
      if (a >= b) continue;
      const uint32_t* u = c[q];
      for (int l = 0; l < L; ++l) cnt[l] = 0;
      // thresholds above the largest word count for no lane: stop before them (the table is
      // ascending; for lambda = 2 about half of its 14 entries are skipped)
      for (int k = 0; k < nthr; ++k) {
        const uint32_t th = thr[k];
        for (int l = 0; l < L; ++l) cnt[l] += u[l] >= th ? 1u : 0u;
      }
      sink(base, a, b, cnt);
    }
  }
}

// The receptor slot a Poisson input adds to (the inhibitory one for a negative weight).
inline float* poisson_dst(const PoissonInput& in, float* dst_ex, float* dst_in) {
  return (in.weight < 0 && dst_in) ? dst_in : dst_ex;
}

// Poisson input of step t for neurons [lo, hi), added to its slot: count x weight.
inline void poisson_counts(const PoissonInput& in, uint64_t seed, int64_t t, int32_t lo, int32_t hi,
                           float* dst_ex, float* dst_in) {
  float* dst = poisson_dst(in, dst_ex, dst_in);
  const float w = in.weight;
  if (in.lambda <= 0) return;
  if (in.thr.empty()) {
    for (int32_t i = lo; i < hi; ++i) {
      CounterRng r(seed, in.stream, uint64_t(i), uint64_t(t));
      const int64_t c = r.poisson(in.lambda);
      if (c) dst[i] += float(c) * w;
    }
    return;
  }
  poisson_table(in, seed, t, lo, hi, [&](int64_t base, int64_t a, int64_t b, const uint32_t* cnt) {
    float* d = dst + base;
    for (int64_t l = a; l < b; ++l) d[l] += float(cnt[l]) * w;
  });
}

}  // namespace

int32_t Network::add_poisson(int32_t pop, double rate_hz, double weight, int32_t lo, int32_t hi) {
  const Population& p = population(pop);
  require(p.model != NeuronModel::Source, "population", "a spike source cannot receive input");
  require_nonnegative(rate_hz, "rate");
  require_finite(weight, "weight");
  require(lo >= 0 && hi <= p.n_targets() && lo < hi, "neurons",
          "range must be non-empty and inside the population (its branch compartments for a "
          "dendritic population)");
  PoissonInput in;
  in.pop = pop;
  in.rate_hz = rate_hz;
  in.weight = float(weight);
  in.lo = lo;
  in.hi = hi;
  in.stream = kStreamPoisson + uint64_t(poisson_.size());
  in.lambda = rate_hz * dt_ * 1e-3;
  in.exp_minus_lambda = std::exp(-in.lambda);
  require(in.lambda < 1e6, "rate", "too high for this dt");
  if (in.lambda > 0 && in.lambda < 10.0) {
    // thr[k] = ceil(2^32 P(X <= k)) below 2^32: a 32-bit word u gives #{k : u >= thr[k]}
    double p = in.exp_minus_lambda, f = p;
    for (int k = 0; k < 200; ++k) {
      const double x = std::ceil(f * 4294967296.0);
      if (x >= 4294967296.0) break;
      in.thr.push_back(uint32_t(x));
      p *= in.lambda / double(k + 1);
      f += p;
    }
  }
  poisson_.push_back(in);
  return int32_t(poisson_.size() - 1);
}

void Network::add_events(int32_t pop, const int64_t* step, const int32_t* id, const float* w,
                         int64_t n) {
  Population& p = pop_ref(pop);
  require(p.model != NeuronModel::Source, "population", "a spike source cannot receive input");
  for (int64_t k = 0; k < n; ++k) {
    if (step[k] < step_) throw_past_time(step_);
    require_index(id[k], p.n_targets(), "neurons");
    if (!std::isfinite(w[k])) throw value_error("weight: contains NaN or inf");
  }
  // events of past steps were used already: drop them so that scheduling stays O(pending)
  {
    const size_t past =
        size_t(std::lower_bound(p.ev_step.begin(), p.ev_step.end(), step_) - p.ev_step.begin());
    p.ev_step.erase(p.ev_step.begin(), p.ev_step.begin() + int64_t(past));
    p.ev_id.erase(p.ev_id.begin(), p.ev_id.begin() + int64_t(past));
    p.ev_w.erase(p.ev_w.begin(), p.ev_w.begin() + int64_t(past));
  }
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return step[a] < step[b]; });
  // merge with the existing (sorted) events: existing ones first on equal steps
  std::vector<int64_t> s2;
  std::vector<int32_t> i2;
  std::vector<float> w2;
  s2.reserve(p.ev_step.size() + size_t(n));
  i2.reserve(s2.capacity());
  w2.reserve(s2.capacity());
  size_t a = 0, b = 0;
  while (a < p.ev_step.size() || b < size_t(n)) {
    if (b == size_t(n) || (a < p.ev_step.size() && p.ev_step[a] <= step[order[b]])) {
      s2.push_back(p.ev_step[a]);
      i2.push_back(p.ev_id[a]);
      w2.push_back(p.ev_w[a]);
      ++a;
    } else {
      const int64_t k = order[b++];
      s2.push_back(step[k]);
      i2.push_back(id[k]);
      w2.push_back(w[k]);
    }
  }
  p.ev_step.swap(s2);
  p.ev_id.swap(i2);
  p.ev_w.swap(w2);
}

void Network::add_source_spikes(int32_t pop, const int64_t* step, const int32_t* id, int64_t n) {
  Population& p = pop_ref(pop);
  require(p.model == NeuronModel::Source, "population", "is not a spike source");
  for (int64_t k = 0; k < n; ++k) {
    if (step[k] < step_) throw_past_time(step_);
    require_index(id[k], p.n, "neurons");
  }
  std::vector<std::pair<int64_t, int32_t>> ev;
  ev.reserve(p.src_step.size() + size_t(n));
  // spikes of past steps were emitted already: keep only pending ones
  for (size_t k = 0; k < p.src_step.size(); ++k)
    if (p.src_step[k] >= step_) ev.emplace_back(p.src_step[k], p.src_id[k]);
  for (int64_t k = 0; k < n; ++k) ev.emplace_back(step[k], id[k]);
  if (!std::is_sorted(ev.begin(), ev.end())) std::sort(ev.begin(), ev.end());  // often sorted
  ev.erase(std::unique(ev.begin(), ev.end()), ev.end());
  p.src_step.resize(ev.size());
  p.src_id.resize(ev.size());
  for (size_t k = 0; k < ev.size(); ++k) {
    p.src_step[k] = ev[k].first;
    p.src_id[k] = ev[k].second;
  }
}

void Network::set_source_rates(int32_t pop, const float* rate_hz) {
  Population& p = pop_ref(pop);
  require(p.model == NeuronModel::Source, "population", "is not a spike source");
  std::vector<uint64_t> thr(size_t(p.n));
  bool any = false;
  for (int32_t i = 0; i < p.n; ++i) {
    const double r = rate_hz[i];
    require_nonnegative(r, "rate");
    const double prob = r * dt_ * 1e-3;
    if (!(prob <= 1.0))
      throw value_error("rate: must be <= 1 / dt (at most one spike per step), got " +
                        std::to_string(r) + " Hz");
    thr[size_t(i)] = uint64_t(std::llround(prob * 4294967296.0));
    any |= thr[size_t(i)] > 0;
  }
  if (!any) {
    p.src_rate.clear();
    p.src_thr.clear();
    return;
  }
  p.src_rate.assign(rate_hz, rate_hz + p.n);
  p.src_thr.swap(thr);
}

void Network::set_current_const(int32_t pop, const float* i) {
  Population& p = pop_ref(pop);
  require(p.model != NeuronModel::Source, "population", "a spike source cannot receive input");
  for (int32_t k = 0; k < p.n; ++k)
    if (!std::isfinite(i[k])) throw value_error("current: contains NaN or inf");
  if (p.i_const.empty()) p.i_const.assign(size_t(p.n), 0.f);
  for (int32_t k = 0; k < p.n; ++k) p.i_const[size_t(k)] += i[k];
}

void Network::set_current_steps(int32_t pop, int64_t start, int64_t len, const float* i) {
  Population& p = pop_ref(pop);
  require(p.model != NeuronModel::Source, "population", "a spike source cannot receive input");
  require(start >= 0, "start", "must be >= 0");
  require(len >= 0, "current", "must have >= 0 rows");
  const int64_t total = len * p.n;
  for (int64_t k = 0; k < total; ++k)
    if (!std::isfinite(i[k])) throw value_error("current: contains NaN or inf");
  require(start >= step_, "start",
          "must not lie before the current time (step " + std::to_string(step_) + ")");
  // rows of past steps were used already: drop them (repeated trials stay O(pending))
  if (p.i_len > 0 && p.i_start < step_) {
    const int64_t drop = std::min(p.i_len, step_ - p.i_start);
    p.i_steps.erase(p.i_steps.begin(), p.i_steps.begin() + drop * p.n);
    p.i_start += drop;
    p.i_len -= drop;
  }
  // Merge with an existing array over the union of step ranges (sums where they overlap).
  const int64_t b = p.i_len ? std::min(p.i_start, start) : start;
  const int64_t e = p.i_len ? std::max(p.i_start + p.i_len, start + len) : start + len;
  std::vector<float> out(size_t(e - b) * size_t(p.n), 0.f);
  for (int64_t t = 0; t < p.i_len; ++t)
    std::copy_n(p.i_steps.begin() + t * p.n, p.n, out.begin() + (p.i_start - b + t) * p.n);
  for (int64_t t = 0; t < len; ++t)
    for (int32_t k = 0; k < p.n; ++k) out[size_t((start - b + t) * p.n + k)] += i[t * p.n + k];
  p.i_steps.swap(out);
  p.i_start = b;
  p.i_len = e - b;
}

void Network::prepare_inputs() {
  poisson_by_pop_.assign(pops_.size(), {});
  for (size_t k = 0; k < poisson_.size(); ++k)
    poisson_by_pop_[size_t(poisson_[k].pop)].push_back(int32_t(k));
  prepare_ahead();
}

// Spikes of source neurons [lo, hi) in step t: the scheduled ones, and for a Poisson source the
// independent draws.
void Network::fire_sources(const Population& p, int32_t pi, int32_t lo, int32_t hi, int64_t t,
                           std::vector<int32_t>& out) const {
  auto b = std::lower_bound(p.src_step.begin(), p.src_step.end(), t);
  auto e = std::upper_bound(b, p.src_step.end(), t);
  const size_t ib = size_t(b - p.src_step.begin()), ie = size_t(e - p.src_step.begin());
  auto ids_b = p.src_id.begin() + int64_t(ib), ids_e = p.src_id.begin() + int64_t(ie);
  auto it = std::lower_bound(ids_b, ids_e, lo);
  if (p.src_thr.empty()) {
    for (; it != ids_e && *it < hi; ++it) out.push_back(*it);
    return;
  }
  // Poisson source: neuron i spikes if its uniform word u < thr[i] (or if scheduled).
  // Words as in poisson_counts: neuron i = 4 L B + L q + l, Philox counter (L B + l, 0, t).
  const uint64_t key =
      splitmix64(seed_ ^ splitmix64(kStreamSource + uint64_t(pi) + 0x632BE59BD9B4E019ull));
  const uint32_t k0 = uint32_t(key), k1 = uint32_t(key >> 32);
  constexpr int L = 64;
  alignas(64) uint32_t c[4][L];
  const uint64_t* thr = p.src_thr.data();
  for (int64_t B = lo / (4 * L); B * 4 * L < hi; ++B) {
    for (int l = 0; l < L; ++l) {
      c[0][l] = uint32_t(B * L + l);
      c[1][l] = 0;
      c[2][l] = uint32_t(uint64_t(t));
      c[3][l] = uint32_t(uint64_t(t) >> 32);
    }
    philox_lanes<L>(c[0], c[1], c[2], c[3], k0, k1);
    const int64_t ia = std::max<int64_t>(lo, B * 4 * L),
                  iz = std::min<int64_t>(hi, (B + 1) * 4 * L);
    for (int64_t i = ia; i < iz; ++i) {
      const int64_t j = i - B * 4 * L;
      bool s = uint64_t(c[j / L][j % L]) < thr[i];
      while (it != ids_e && *it < i) ++it;
      if (it != ids_e && *it == i) s = true;
      if (s) out.push_back(int32_t(i));
    }
  }
}

void Network::inject_inputs(const Population& p, int32_t pi, int rank, int32_t tlo, int32_t thi,
                            int64_t t, float* in0, float* in_neg) const {
  const PoissonAhead* A = size_t(rank) < ahead_.size() ? &ahead_[size_t(rank)] : nullptr;
  const int64_t s = A ? t - A->w0 : -1;
  const bool ahead = A && s >= 0 && s < A->wn && A->done > 0;
  // in a fixed order: Poisson inputs, then events
  for (int32_t k : poisson_by_pop_[size_t(pi)]) {
    const PoissonInput& in = poisson_[size_t(k)];
    const int32_t a = std::max(tlo, in.lo), b = std::min(thi, in.hi);
    if (a >= b) continue;
    const int32_t j = ahead ? A->unit_of[size_t(k)] : -1;
    if (j >= 0 && s * int64_t(A->in.size()) + j < A->done && A->lo[size_t(j)] == a &&
        A->hi[size_t(j)] == b) {  // drawn ahead: the same counts, the same float operations
      const uint8_t* c = A->cnt.data() + s * A->stride + A->off[size_t(j)];
      float* d = poisson_dst(in, in0, in_neg) + a;
      const float w = in.weight;
      for (int32_t i = 0; i < b - a; ++i) d[i] += float(uint32_t(c[i])) * w;
    } else {
      poisson_counts(in, seed_, t, a, b, in0, in_neg);
    }
  }
  if (!p.ev_step.empty()) {
    auto b = std::lower_bound(p.ev_step.begin(), p.ev_step.end(), t);
    for (size_t k = size_t(b - p.ev_step.begin()); k < p.ev_step.size() && p.ev_step[k] == t; ++k) {
      const int32_t id = p.ev_id[k];
      if (id < tlo || id >= thi) continue;
      const float w = p.ev_w[k];
      ((w < 0 && in_neg) ? in_neg : in0)[id] += w;
    }
  }
}

// Units per thread: every table-driven Poisson input (0 < lambda < 10: counts below 200 fit a
// byte) over the targets of the thread's block of its population.
void Network::prepare_ahead() {
  const int T = pool_->size();
  ahead_.resize(size_t(T));
  for (int r = 0; r < T; ++r) {
    PoissonAhead& A = ahead_[size_t(r)];
    A.in.clear();
    A.lo.clear();
    A.hi.clear();
    A.off.clear();
    A.unit_of.assign(poisson_.size(), -1);
    A.stride = 0;
    A.w0 = A.wn = A.done = 0;
    if (T == 1) continue;  // no barrier to wait at
    for (size_t pi = 0; pi < pops_.size(); ++pi) {
      const Population& p = pops_[pi];
      if (p.model == NeuronModel::Source) continue;
      int64_t lo, hi;
      thread_block(p.n, r, lo, hi);
      const int64_t K = p.br.K;
      for (int32_t k : poisson_by_pop_[pi]) {
        const PoissonInput& in = poisson_[size_t(k)];
        if (!(in.lambda > 0) || in.thr.empty() || in.thr.size() > 255) continue;
        const int64_t a = std::max<int64_t>(lo * K, in.lo), b = std::min<int64_t>(hi * K, in.hi);
        if (a >= b) continue;
        A.unit_of[size_t(k)] = int32_t(A.in.size());
        A.in.push_back(k);
        A.lo.push_back(int32_t(a));
        A.hi.push_back(int32_t(b));
        A.off.push_back(A.stride);
        A.stride += b - a;
      }
    }
  }
}

void Network::ahead_begin(int rank, int64_t w0, int64_t wn) {
  PoissonAhead& A = ahead_[size_t(rank)];
  A.w0 = w0;
  A.wn = A.in.empty() ? 0 : wn;
  A.done = 0;
  if (size_t(A.wn * A.stride) > A.cnt.size()) A.cnt.resize(size_t(A.wn * A.stride));
}

bool Network::ahead_step(int rank) {
  PoissonAhead& A = ahead_[size_t(rank)];
  const int64_t nu = int64_t(A.in.size());
  if (A.done >= A.wn * nu) return false;
  const int64_t s = A.done / nu, j = A.done % nu;
  const PoissonInput& in = poisson_[size_t(A.in[size_t(j)])];
  const int32_t a = A.lo[size_t(j)];
  uint8_t* c = A.cnt.data() + s * A.stride + A.off[size_t(j)];
  poisson_table(in, seed_, A.w0 + s, a, A.hi[size_t(j)],
                [&](int64_t base, int64_t x, int64_t y, const uint32_t* cnt) {
                  for (int64_t l = x; l < y; ++l) c[base + l - a] = uint8_t(cnt[l]);
                });
  ++A.done;
  return true;
}

const float* Network::current_input(const Population& p, int32_t lo, int32_t hi, int64_t t) const {
  const float* cur = nullptr;
  const bool arr = p.i_len > 0 && t >= p.i_start && t < p.i_start + p.i_len;
  thread_local std::vector<float> cbuf;
  if (arr && !p.i_const.empty()) {
    cbuf.resize(size_t(p.n));
    const float* row = p.i_steps.data() + (t - p.i_start) * p.n;
    for (int32_t i = lo; i < hi; ++i) cbuf[size_t(i)] = p.i_const[size_t(i)] + row[i];
    cur = cbuf.data();
  } else if (arr) {
    cur = p.i_steps.data() + (t - p.i_start) * p.n;
  } else if (!p.i_const.empty()) {
    cur = p.i_const.data();
  }
  return cur;
}

}  // namespace spikecore
