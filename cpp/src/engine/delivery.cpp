// Spike propagation: the per-thread slices of every projection row and the delivery of a
// step's spikes into the delay rings of the targets (DelayRing in engine/delay_ring.hpp).
#include "spikecore/engine/network.hpp"

#include <algorithm>
#include <cstring>

#include "internal.hpp"

// Hot loops start on a 64-byte boundary. Without it their placement follows the code around them,
// and the delivery loop ran 30 % slower in some builds of unchanged source (docs/bench.md).
// The command line's options (-ffp-contract=off, ...) still apply.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("align-loops=64")
#endif

namespace spikecore {

using namespace engine_detail;

// Per projection (when changed or the thread count changed): the row slice boundaries of each
// thread block, the delay range, the receptor routing and the constant-weight flag; then the
// spike exchange window and the spike lists.
void Network::prepare_delivery() {
  const int T = pool_->size();
  for (auto& pj : projs_) {
    if (!pj.dirty && pj.bounds_t == T) continue;
    const SynapseMatrix& m = pj.m;
    const int32_t nq = pops_[size_t(pj.post)].n;
    const int32_t K = pops_[size_t(pj.post)].br.K;  // targets are branch compartments j K + k
    pj.bounds.assign(size_t(m.n_pre()) * size_t(T + 1), 0);
    std::vector<int64_t> lo(size_t(T) + 1);
    for (int b = 0; b < T; ++b) {
      int64_t e;
      thread_block(nq, b, lo[size_t(b)], e);  // block b of this process's targets
      lo[size_t(b)] *= K;
    }
    uint16_t dmin = 65535, dmax = 1;
    bool any_pos = false, any_neg = false;
    bool wconst = m.nnz() > 0, first = true;
    uint32_t wbits0 = 0;
    for (int32_t r = 0; r < m.n_pre(); ++r) {
      int64_t* out = pj.bounds.data() + size_t(r) * size_t(T + 1);
      for (int b = 0; b < T; ++b)
        out[b] = m.lower_bound_post(m.row_begin(r), m.row_end(r), int32_t(lo[size_t(b)]));
      out[T] = m.row_end(r);
      for (int64_t k = m.row_begin(r); k < m.row_end(r); ++k) {
        dmin = std::min(dmin, m.delay()[k]);
        dmax = std::max(dmax, m.delay()[k]);
        const float w = m.weight()[k];
        any_pos |= !(w < 0);
        any_neg |= (w < 0);
        uint32_t wb;
        std::memcpy(&wb, &w, 4);
        if (first) wbits0 = wb;
        first = false;
        wconst &= wb == wbits0;
      }
    }
    pj.wconst = wconst;
    std::memcpy(&pj.wval, &wbits0, 4);
    if (dmin > dmax) dmin = dmax;
    pj.dmin = dmin;
    pj.dmax = dmax;
    const Population& q = pops_[size_t(pj.post)];
    if (pj.receptor >= 0)
      pj.recmode = pj.receptor;
    else if (q.n_rec() == 1 || q.kind != SynapseKind::Exp || !any_neg)
      pj.recmode = 0;
    else if (!any_pos)
      pj.recmode = 1;
    else
      pj.recmode = 2;
    pj.bounds_t = T;
    pj.dirty = false;
  }
  // spike exchange window: the smallest delay of any projection (spikes of a window only land
  // after it), capped so that spike buffers stay small
  window_ = 64;
  for (const auto& pj : projs_)
    if (pj.m.nnz() > 0) window_ = std::min<int32_t>(window_, pj.dmin);
  window_ = std::max<int32_t>(window_, 1);
  for (int par = 0; par < 2; ++par) {
    spikes_[par].resize(pops_.size());
    for (size_t p = 0; p < pops_.size(); ++p) {
      spikes_[par][p].resize(size_t(T));
      for (auto& l : spikes_[par][p]) {
        l.v.clear();
        l.off.assign(1, 0);
        l.v.reserve(size_t(pops_[p].n / T + 1));
      }
    }
  }
}

namespace {
// The row slices [k0, k1) of this step's spikers in this thread's target block, in delivery order
// (threads or ranks, then ascending neurons). Gathered first so that the bounds' cache misses of
// all spikers overlap, and so that the prefetch cursor of deliver_rows_idx can run ahead across
// row boundaries. Empty slices are skipped. Returns the number of events (sum of lengths).
template <typename Lists>
inline int64_t row_slices(const int64_t* bounds, const Lists& lists, int s, int rank, int T,
                          std::vector<int64_t>& seg) {
  seg.clear();
  int64_t ev = 0;
  for (size_t rr = 0; rr < lists.size(); ++rr) {  // threads (or ranks): ascending neurons
    const auto& L = lists[rr];
    for (int32_t x = L.off[size_t(s)]; x < L.off[size_t(s) + 1]; ++x) {
      const int64_t* bd = bounds + size_t(L.v[size_t(x)]) * size_t(T + 1) + size_t(rank);
      const int64_t k0 = bd[0], k1 = bd[1];
      if (k1 <= k0) continue;
      seg.push_back(k0);
      seg.push_back(k1);
      ev += k1 - k0;
    }
  }
  return ev;
}

// Deliver the slices `seg` (pairs k0, k1) of one projection. Idx is the matrix's target index
// type (uint16_t when narrow: 2 bytes streamed per event with a constant weight and one delay;
// int32_t otherwise). A software prefetch cursor runs kAhead cache lines of targets (and the
// matching weights / delays of the general path) ahead of the loop, through the concatenated
// slices: each slice is a fresh stream that the hardware prefetcher would only pick up after a
// few misses. The summation order is unchanged (slice by slice, ascending k).
template <bool Uniform, int Mode, bool ConstW, typename Idx>
inline void deliver_slices(const Projection& pj, const Idx* post, const std::vector<int64_t>& seg,
                           float* const* base, int32_t n) {
  const float wval = pj.wval;
  const float* weight = pj.m.weight();
  const uint16_t* delay = pj.m.delay();
  float* const slot = base[pj.dmin];
  constexpr int64_t kLine = 64 / int64_t(sizeof(Idx));  // indices per cache line
  constexpr int kAhead = 16;                            // lines of targets ahead
  const size_t nseg = seg.size();
  // prefetch cursor: line-aligned index pk in slice ps
  size_t ps = 0;
  int64_t pk = seg[0] & ~(kLine - 1);
  auto prefetch_next = [&]() {
    if (ps >= nseg) return;
    __builtin_prefetch(post + pk);
    if (!ConstW) {  // kLine weights: 2 lines (16-bit targets) or 1
      __builtin_prefetch(weight + pk);
      if (sizeof(Idx) == 2) __builtin_prefetch(weight + pk + 16);
    }
    if (!Uniform) __builtin_prefetch(delay + pk);  // kLine delays: one line or half of one
    pk += kLine;
    if (pk >= seg[ps + 1]) {
      ps += 2;
      if (ps < nseg) pk = seg[ps] & ~(kLine - 1);
    }
  };
  for (int i = 0; i < kAhead; ++i) prefetch_next();
  for (size_t i = 0; i < nseg; i += 2) {
    const int64_t k0 = seg[i], k1 = seg[i + 1];
    int64_t k = k0;
    while (k < k1) {
      prefetch_next();
      const int64_t ke = std::min(k1, (k & ~(kLine - 1)) + kLine);  // to the end of this line
      for (; k < ke; ++k) {
        const float w = ConstW ? wval : weight[k];
        float* dst = Uniform ? slot : base[delay[k]];
        const size_t j = size_t(post[k]);
        if (Mode == 0)
          dst[j] += w;
        else if (Mode == 1)
          dst[j + size_t(n)] += w;
        else
          dst[j + (w < 0 ? size_t(n) : 0)] += w;
      }
    }
  }
}

template <bool Uniform, int Mode, bool ConstW>
inline void deliver_rows(const Projection& pj, const std::vector<int64_t>& seg, float* const* base,
                         int32_t n) {
  if (pj.m.narrow())
    deliver_slices<Uniform, Mode, ConstW>(pj, pj.m.post16(), seg, base, n);
  else
    deliver_slices<Uniform, Mode, ConstW>(pj, pj.m.post32(), seg, base, n);
}

// Spikes of a conversion population (ConversionPopulation: IF, STDI, max-pool gate): every spike
// of step t weighs the source's spike weight of that step (STDI bit t: T 2^-(t+1)), negated for
// the id n + i of a signed neuron i's negative spike. Plain loop: any delays and receptor mode.
template <typename Idx, typename Lists>
int64_t deliver_scaled_idx(const Projection& pj, const Idx* post, const Population& src,
                           const Lists& lists, int s, int rank, int T, float* const* base,
                           int32_t n, int64_t t) {
  const float sw = src.conv.spike_weight(t);
  const float* weight = pj.m.weight();
  const uint16_t* delay = pj.m.delay();
  const int64_t* bounds = pj.bounds.data();
  int64_t ev = 0;
  for (size_t rr = 0; rr < lists.size(); ++rr) {
    const auto& L = lists[rr];
    for (int32_t x = L.off[size_t(s)]; x < L.off[size_t(s) + 1]; ++x) {
      int32_t r = L.v[size_t(x)];
      float sc = sw;
      if (r >= src.n) {
        r -= src.n;
        sc = -sw;
      }
      const int64_t* bd = bounds + size_t(r) * size_t(T + 1);
      ev += bd[rank + 1] - bd[rank];
      for (int64_t k = bd[rank]; k < bd[rank + 1]; ++k) {
        const float w = weight[k] * sc;
        float* dst = base[delay[k]];
        const size_t q = size_t(post[k]);
        if (pj.recmode == 0)
          dst[q] += w;
        else if (pj.recmode == 1)
          dst[q + size_t(n)] += w;
        else
          dst[q + (w < 0 ? size_t(n) : 0)] += w;
      }
    }
  }
  return ev;
}

template <typename Lists>
int64_t deliver_scaled(const Projection& pj, const Population& src, const Lists& lists, int s,
                       int rank, int T, float* const* base, int32_t n, int64_t t) {
  if (pj.m.narrow())
    return deliver_scaled_idx(pj, pj.m.post16(), src, lists, s, rank, T, base, n, t);
  return deliver_scaled_idx(pj, pj.m.post32(), src, lists, s, rank, T, base, n, t);
}
}  // namespace

void Network::deliver(Projection& pj, int rank, int64_t t, int par, int s) {
  const auto& lists = spikes_[par][size_t(pj.pre)];
  bool any = false;
  for (const auto& l : lists) any |= l.off[size_t(s) + 1] > l.off[size_t(s)];
  if (!any) return;
  Population& q = pops_[size_t(pj.post)];
  const int T = pool_->size();
  const int32_t nt = q.ring.rstride(rank);  // receptor stride in my block of the ring
  float* base[65536 / 64];                  // enough for typical delays; larger handled below
  std::vector<float*> big;
  float** bp = base;
  if (pj.dmax + 1 > int(sizeof(base) / sizeof(base[0]))) {
    big.resize(size_t(pj.dmax) + 1);
    bp = big.data();
  }
  for (int d = pj.dmin; d <= pj.dmax; ++d) bp[d] = q.ring.slot(t + d, rank);
  const bool uni = pj.dmin == pj.dmax;
  int64_t ev;
  if (pops_[size_t(pj.pre)].conv.scaled()) {  // weighted / signed conversion spikes
    ev = deliver_scaled(pj, pops_[size_t(pj.pre)], lists, s, rank, T, bp, nt, t);
    thread_events_[size_t(rank) * kPad] += ev;
    return;
  }
  thread_local std::vector<int64_t> seg;
  ev = row_slices(pj.bounds.data(), lists, s, rank, T, seg);
  if (ev == 0) return;
  switch ((pj.recmode * 2 + (uni ? 1 : 0)) * 2 + (pj.wconst ? 1 : 0)) {
    case 0:
      deliver_rows<false, 0, false>(pj, seg, bp, nt);
      break;
    case 1:
      deliver_rows<false, 0, true>(pj, seg, bp, nt);
      break;
    case 2:
      deliver_rows<true, 0, false>(pj, seg, bp, nt);
      break;
    case 3:
      deliver_rows<true, 0, true>(pj, seg, bp, nt);
      break;
    case 4:
      deliver_rows<false, 1, false>(pj, seg, bp, nt);
      break;
    case 5:
      deliver_rows<false, 1, true>(pj, seg, bp, nt);
      break;
    case 6:
      deliver_rows<true, 1, false>(pj, seg, bp, nt);
      break;
    case 7:
      deliver_rows<true, 1, true>(pj, seg, bp, nt);
      break;
    case 8:
      deliver_rows<false, 2, false>(pj, seg, bp, nt);
      break;
    case 9:
      deliver_rows<false, 2, true>(pj, seg, bp, nt);
      break;
    case 10:
      deliver_rows<true, 2, false>(pj, seg, bp, nt);
      break;
    default:
      deliver_rows<true, 2, true>(pj, seg, bp, nt);
      break;
  }
  thread_events_[size_t(rank) * kPad] += ev;
}
}  // namespace spikecore
