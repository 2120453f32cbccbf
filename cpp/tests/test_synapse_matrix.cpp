#include <algorithm>
#include <set>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <tuple>

#include "check.hpp"
#include "spikecore/core/rng.hpp"
#include "spikecore/synapses/synapse_matrix.hpp"

using namespace spikecore;

static SynapseMatrix random_matrix(int32_t n_pre, int32_t n_post, int64_t nnz, uint64_t seed) {
  std::vector<int32_t> pre(nnz), post(nnz);
  std::vector<float> w(nnz);
  CounterRng rng(seed, 1, 0, 0);
  std::set<std::pair<int, int>> seen;
  for (int64_t k = 0; k < nnz;) {
    int a = int(rng.below(n_pre)), b = int(rng.below(n_post));
    if (!seen.insert({a, b}).second) continue;
    pre[k] = a;
    post[k] = b;
    w[k] = float(rng.normal());
    ++k;
  }
  return SynapseMatrix::from_coo(n_pre, n_post, pre.data(), post.data(), w.data(), nullptr, nnz,
                                 0.1);
}

TEST_CASE("from_coo sorts rows and keeps weights") {
  int32_t pre[] = {1, 0, 1, 0};
  int32_t post[] = {2, 1, 0, 0};
  float w[] = {1, 2, 3, 4};
  auto m = SynapseMatrix::from_coo(2, 3, pre, post, w, nullptr, 4);
  m.check_invariants();
  std::vector<float> d(6);
  m.to_dense(d.data());
  CHECK(d[0] == 4 && d[1] == 2 && d[2] == 0 && d[3] == 3 && d[4] == 0 && d[5] == 1);
  CHECK(m.contains(1, 2) && !m.contains(1, 1));
}

TEST_CASE("prune_smallest removes exactly the smallest magnitudes") {
  auto m = random_matrix(50, 60, 900, 7);
  std::vector<float> w(m.nnz());
  m.to_coo(nullptr, nullptr, w.data(), nullptr);
  for (auto& x : w) x = std::fabs(x);
  std::sort(w.begin(), w.end());
  const int64_t removed = m.prune_smallest(0.1);
  CHECK(removed == 90);
  CHECK(m.nnz() == 810);
  m.check_invariants();
  std::vector<float> left(m.nnz());
  m.to_coo(nullptr, nullptr, left.data(), nullptr);
  float mn = 1e30f;
  for (float x : left) mn = std::min(mn, std::fabs(x));
  CHECK(mn >= w[89]);
}

TEST_CASE("regrow_random keeps density, avoids duplicates and autapses, is deterministic") {
  auto a = random_matrix(40, 40, 300, 3);
  auto b = random_matrix(40, 40, 300, 3);
  a.prune_random(0.2, 11, 5);
  b.prune_random(0.2, 11, 5);
  CHECK(a.nnz() == 240);
  a.regrow_random(60, 0.f, 1, false, false, 11, 5);
  b.regrow_random(60, 0.f, 1, false, false, 11, 5);
  a.check_invariants();
  CHECK(a.nnz() == 300);
  std::vector<int32_t> pa(300), qa(300), pb(300), qb(300);
  a.to_coo(pa.data(), qa.data(), nullptr, nullptr);
  b.to_coo(pb.data(), qb.data(), nullptr, nullptr);
  CHECK(pa == pb && qa == qb);
  std::set<std::pair<int, int>> s;
  for (int i = 0; i < 300; ++i) {
    CHECK(pa[i] != qa[i] || true);
    s.insert({pa[i], qa[i]});
  }
  CHECK(s.size() == 300);
}

TEST_CASE("regrow beyond the free positions throws") {
  auto m = random_matrix(4, 4, 10, 1);
  CHECK_THROWS(m.regrow_random(100, 0.f, 1, true, false, 1, 1));
  CHECK(m.nnz() == 10);
}

TEST_CASE("regrow_top_scores picks the best free positions") {
  int32_t pre[] = {0};
  int32_t post[] = {0};
  float w[] = {1};
  auto m = SynapseMatrix::from_coo(2, 2, pre, post, w, nullptr, 1);
  float scores[] = {100, 1, 5, 3};
  m.regrow_top_scores(2, scores, 0.5f, 1, true);
  CHECK(m.nnz() == 3 && m.contains(1, 0) && m.contains(1, 1) && !m.contains(0, 1));
}

TEST_CASE("poisson mean and variance") {
  for (double lam : {0.5, 2.0, 30.0}) {
    double s = 0, s2 = 0;
    const int n = 200000;
    CounterRng rng(5, 9, 0, 0);
    for (int i = 0; i < n; ++i) {
      double x = double(rng.poisson(lam));
      s += x;
      s2 += x * x;
    }
    const double mean = s / n, var = s2 / n - mean * mean;
    CHECK(std::fabs(mean - lam) < 0.02 * lam + 0.01);
    CHECK(std::fabs(var - lam) < 0.05 * lam + 0.02);
  }
}

TEST_CASE("16-bit targets up to n_post = 65536, 32-bit beyond: same synapses, same operations") {
  // The same synapses (targets < 40000) in a narrow (n_post 40000) and a wide (n_post 70000)
  // matrix: every operation that does not draw targets must give identical rows.
  const int64_t nnz = 20000;
  std::vector<int32_t> pre(nnz), post(nnz);
  std::vector<float> w(nnz);
  CounterRng rng(5, 1, 0, 0);
  for (int64_t k = 0; k < nnz; ++k) {
    pre[size_t(k)] = int32_t(rng.below(300));
    post[size_t(k)] = int32_t(rng.below(40000));
    w[size_t(k)] = float(rng.normal());
  }
  auto a =
      SynapseMatrix::from_coo(300, 40000, pre.data(), post.data(), w.data(), nullptr, nnz, 0.1);
  auto b =
      SynapseMatrix::from_coo(300, 70000, pre.data(), post.data(), w.data(), nullptr, nnz, 0.1);
  CHECK(a.narrow() && a.index_bytes() == 2 && a.post16() && !a.post32());
  CHECK(!b.narrow() && b.index_bytes() == 4 && b.post32() && !b.post16());
  CHECK(b.memory_bytes() - a.memory_bytes() == size_t(2 * a.capacity()));
  auto same = [&]() {
    a.check_invariants();
    b.check_invariants();
    CHECK(a.nnz() == b.nnz());
    std::vector<int32_t> pa(a.nnz()), pb(b.nnz()), ra(a.nnz()), rb(b.nnz());
    std::vector<float> wa(a.nnz()), wb(b.nnz());
    a.to_coo(ra.data(), pa.data(), wa.data(), nullptr);
    b.to_coo(rb.data(), pb.data(), wb.data(), nullptr);
    CHECK(pa == pb && ra == rb && wa == wb);
    for (int32_t r = 0; r < 300; r += 7)
      for (int32_t p : {0, 1, 777, 39999, 40000, 65535, 65536, 69999})
        CHECK(a.lower_bound_post(a.row_begin(r), a.row_end(r), p) - a.row_begin(r) ==
              b.lower_bound_post(b.row_begin(r), b.row_end(r), p) - b.row_begin(r));
  };
  same();
  CHECK(a.prune_random(0.1, 3, 1) == b.prune_random(0.1, 3, 1));
  same();
  CHECK(a.prune_smallest(0.05) == b.prune_smallest(0.05));
  same();
  int32_t ip[] = {5, 5, 299}, iq[] = {39999, 0, 12345};
  float iw[] = {1, 2, 3};
  a.insert(ip, iq, iw, nullptr, 3);
  b.insert(ip, iq, iw, nullptr, 3);
  same();
  CHECK(a.contains(5, 39999) && b.contains(5, 39999) && !b.contains(5, 65536));
  // wide: targets beyond 65535 survive regrowth and every operation
  CHECK(b.regrow_random(5000, 0.5f, 1, false, false, 9, 2) == 5000);
  b.check_invariants();
  std::vector<int32_t> pq(b.nnz());
  b.to_coo(nullptr, pq.data(), nullptr, nullptr);
  CHECK(*std::max_element(pq.begin(), pq.end()) >= 65536);
  // narrow at the boundary: n_post = 65536 keeps target 65535 exactly
  int32_t bp[] = {0, 0}, bq[] = {65535, 65534};
  auto c = SynapseMatrix::from_coo(1, 65536, bp, bq, nullptr, nullptr, 2);
  CHECK(c.narrow() && c.post_at(0) == 65534 && c.post_at(1) == 65535 && c.contains(0, 65535));
  CHECK(c.lower_bound_post(0, 2, 65536) == 2 && c.lower_bound_post(0, 2, -3) == 0);
}

TEST_MAIN()

// ----------------------------------------------------------------- split across ranks (RankSplit)
// R "ranks" as threads, each holding the columns block_range(n_post, R, r) of the same matrix;
// the reduction every rank calls in the same order is done through shared memory.
namespace {
struct ThreadRanks {
  explicit ThreadRanks(int r) : R(r), in(size_t(r)) {}
  int R;
  std::mutex mu;
  std::condition_variable cv;
  int arrived = 0;
  int64_t gen = 0;
  std::vector<std::vector<int64_t>> in;
  void wait_all(std::unique_lock<std::mutex>& l) {
    const int64_t g = gen;
    if (++arrived == R) {
      arrived = 0;
      ++gen;
      cv.notify_all();
    } else {
      cv.wait(l, [&] { return gen != g; });
    }
  }
  void reduce(int rank, int64_t* v, int64_t n, bool exscan) {
    std::unique_lock<std::mutex> l(mu);
    in[size_t(rank)].assign(v, v + n);
    wait_all(l);
    std::vector<int64_t> out(size_t(n), 0);
    for (int r = 0; r < (exscan ? rank : R); ++r)
      for (int64_t k = 0; k < n; ++k) out[size_t(k)] += in[size_t(r)][size_t(k)];
    wait_all(l);  // nobody overwrites `in` before everyone has read it
    std::copy(out.begin(), out.end(), v);
  }
};

struct Triplets {
  std::vector<int32_t> pre, post;
  std::vector<float> w;
};

Triplets triplets(int32_t n_pre, int32_t n_post, int64_t nnz, uint64_t seed, bool quantized) {
  Triplets t;
  CounterRng rng(seed, 3, 0, 0);
  std::set<std::pair<int, int>> seen;
  while (int64_t(t.pre.size()) < nnz) {
    const int a = int(rng.below(uint64_t(n_pre))), b = int(rng.below(uint64_t(n_post)));
    if (!seen.insert({a, b}).second) continue;
    t.pre.push_back(a);
    t.post.push_back(b);
    t.w.push_back(quantized ? float(int(rng.below(5)) - 2) * 0.5f : float(rng.normal()));
  }
  return t;
}

// (pre, post, weight, delay) of all ranks' parts in the row order of the whole matrix
std::vector<std::tuple<int32_t, int32_t, float, uint16_t>> merged(
    const std::vector<SynapseMatrix>& parts) {
  std::vector<std::tuple<int32_t, int32_t, float, uint16_t>> out;
  for (const auto& m : parts) {
    std::vector<int32_t> p(size_t(m.nnz())), q(size_t(m.nnz()));
    std::vector<float> w(size_t(m.nnz()));
    std::vector<uint16_t> d(size_t(m.nnz()));
    m.to_coo(p.data(), q.data(), w.data(), d.data());
    for (size_t k = 0; k < p.size(); ++k) out.emplace_back(p[k], q[k], w[k], d[k]);
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return std::get<0>(a) < std::get<0>(b); });
  return out;
}

void check_split_equals_whole(const std::function<int64_t(SynapseMatrix&, const RankSplit&)>& op,
                              bool quantized, int R) {
  const int32_t n_pre = 23, n_post = 31;
  const Triplets t = triplets(n_pre, n_post, 300, 11, quantized);
  SynapseMatrix whole = SynapseMatrix::from_coo(n_pre, n_post, t.pre.data(), t.post.data(),
                                                t.w.data(), nullptr, int64_t(t.pre.size()));
  const int64_t k_whole = op(whole, RankSplit{});
  std::vector<SynapseMatrix> parts;
  std::vector<RankSplit> splits(static_cast<size_t>(R));
  ThreadRanks tr(R);
  for (int r = 0; r < R; ++r) {
    const int32_t lo = int32_t(int64_t(n_post) * r / R),
                  hi = int32_t(int64_t(n_post) * (r + 1) / R);
    Triplets mine;
    for (size_t k = 0; k < t.pre.size(); ++k)
      if (t.post[k] >= lo && t.post[k] < hi) {
        mine.pre.push_back(t.pre[k]);
        mine.post.push_back(t.post[k]);
        mine.w.push_back(t.w[k]);
      }
    parts.push_back(SynapseMatrix::from_coo(n_pre, n_post, mine.pre.data(), mine.post.data(),
                                            mine.w.data(), nullptr, int64_t(mine.pre.size())));
    splits[size_t(r)].col_lo = lo;
    splits[size_t(r)].col_hi = hi;
    splits[size_t(r)].reduce = [&tr, r](int64_t* v, int64_t n, bool ex) { tr.reduce(r, v, n, ex); };
  }
  std::vector<int64_t> k_part(static_cast<size_t>(R));
  std::vector<std::thread> th;
  for (int r = 0; r < R; ++r)
    th.emplace_back([&, r] { k_part[size_t(r)] = op(parts[size_t(r)], splits[size_t(r)]); });
  for (auto& x : th) x.join();
  for (int r = 0; r < R; ++r) {
    CHECK(k_part[size_t(r)] == k_whole);  // every rank returns the count of the whole matrix
    parts[size_t(r)].check_invariants();
  }
  CHECK(merged(parts) == merged({whole}));
}
}  // namespace

TEST_CASE("prune and regrow split across ranks decide as the whole matrix") {
  for (int R : {2, 3}) {
    for (bool q : {false, true}) {  // quantized weights: many ties (and zeros)
      check_split_equals_whole(
          [](SynapseMatrix& m, const RankSplit& s) { return m.prune_smallest(0.37, s); }, q, R);
      check_split_equals_whole(
          [](SynapseMatrix& m, const RankSplit& s) { return m.prune_random(0.41, 9, 4, s); }, q, R);
      check_split_equals_whole(
          [](SynapseMatrix& m, const RankSplit& s) {
            return m.regrow_random(150, 0.25f, 3, false, false, 5, 2, 1, s);
          },
          q, R);
      check_split_equals_whole(
          [](SynapseMatrix& m, const RankSplit& s) {
            return m.regrow_random(40, 0.25f, 2, true, true, 6, 1, 1, s);  // multapses
          },
          q, R);
      check_split_equals_whole(
          [q](SynapseMatrix& m, const RankSplit& s) {
            std::vector<float> sc(size_t(m.n_pre()) * size_t(m.n_post()));
            CounterRng rng(4, 4, 0, 0);
            for (auto& x : sc) x = q ? float(int(rng.below(3))) - 1.f : float(rng.normal());
            return m.regrow_top_scores(60, sc.data(), -0.5f, 2, false, 1, s);
          },
          q, R);
    }
  }
}
