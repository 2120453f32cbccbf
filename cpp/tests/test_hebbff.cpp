// C++ unit tests: fused HebbFF kernel. Backward against central finite differences (double),
// thread-count invariance, checkpoint interval independence.
#include <cmath>
#include <random>
#include <vector>

#include "check.hpp"
#include "spikecore/models/hebbff.hpp"

using namespace spikecore::models;

namespace {
struct Problem {
  HebbFFShape s{6, 2, 3, 4};
  std::vector<double> x, W, b;
  double eta = -0.3, lam = 0.8;
  Problem() {
    std::mt19937_64 g(1);
    std::normal_distribution<double> n(0.0, 1.0);
    x.resize(size_t(s.T * s.B * s.d));
    W.resize(size_t(s.N * s.d));
    b.resize(size_t(s.N));
    for (auto& v : x) v = n(g);
    for (auto& v : W) v = 0.5 * n(g);
    for (auto& v : b) v = n(g);
  }
  // loss = sum_t,b,i c_{tbi} a_{tbi} with fixed weights c
  double loss(int64_t K, const std::vector<double>& xx, const std::vector<double>& WW, double e,
              double l) const {
    std::vector<double> a(size_t(s.T * s.B * s.N));
    hebbff_forward<double>(s, xx.data(), WW.data(), b.data(), e, l, K, a.data(), nullptr, nullptr,
                           1);
    double L = 0;
    for (size_t i = 0; i < a.size(); ++i) L += std::sin(double(i)) * a[i];
    return L;
  }
};
}  // namespace

TEST_CASE("backward matches finite differences for any checkpoint interval") {
  Problem p;
  const auto& s = p.s;
  std::vector<double> g(size_t(s.T * s.B * s.N));
  for (size_t i = 0; i < g.size(); ++i) g[i] = std::sin(double(i));
  for (int64_t K : {1, 2, 4, 6}) {
    std::vector<double> a(g.size()), ck(size_t(hebbff_num_checkpoints(s.T, K) * s.B * s.N * s.d));
    hebbff_forward<double>(s, p.x.data(), p.W.data(), p.b.data(), p.eta, p.lam, K, a.data(),
                           ck.data(), nullptr, 2);
    std::vector<double> gx(p.x.size()), gW(p.W.size()), gb(p.b.size());
    double ge = 0, gl = 0;
    hebbff_backward<double>(s, p.x.data(), p.W.data(), p.eta, p.lam, K, a.data(), ck.data(),
                            g.data(), gx.data(), gW.data(), gb.data(), &ge, &gl, 2);
    const double h = 1e-6;
    const double fe =
        (p.loss(K, p.x, p.W, p.eta + h, p.lam) - p.loss(K, p.x, p.W, p.eta - h, p.lam)) / (2 * h);
    const double fl =
        (p.loss(K, p.x, p.W, p.eta, p.lam + h) - p.loss(K, p.x, p.W, p.eta, p.lam - h)) / (2 * h);
    CHECK(std::fabs(fe - ge) < 1e-6 * std::max(1.0, std::fabs(fe)));
    CHECK(std::fabs(fl - gl) < 1e-6 * std::max(1.0, std::fabs(fl)));
    for (size_t k : {size_t(0), size_t(5), p.W.size() - 1}) {
      auto Wp = p.W, Wm = p.W;
      Wp[k] += h;
      Wm[k] -= h;
      const double f =
          (p.loss(K, p.x, Wp, p.eta, p.lam) - p.loss(K, p.x, Wm, p.eta, p.lam)) / (2 * h);
      CHECK(std::fabs(f - gW[k]) < 1e-6 * std::max(1.0, std::fabs(f)));
    }
    for (size_t k : {size_t(0), size_t(7), p.x.size() - 1}) {
      auto xp = p.x, xm = p.x;
      xp[k] += h;
      xm[k] -= h;
      const double f =
          (p.loss(K, xp, p.W, p.eta, p.lam) - p.loss(K, xm, p.W, p.eta, p.lam)) / (2 * h);
      CHECK(std::fabs(f - gx[k]) < 1e-6 * std::max(1.0, std::fabs(f)));
    }
  }
}

TEST_CASE("forward identical for 1 and 2 threads") {
  Problem p;
  std::vector<double> a1(size_t(p.s.T * p.s.B * p.s.N)), a2(a1.size());
  hebbff_forward<double>(p.s, p.x.data(), p.W.data(), p.b.data(), p.eta, p.lam, 3, a1.data(),
                         nullptr, nullptr, 1);
  hebbff_forward<double>(p.s, p.x.data(), p.W.data(), p.b.data(), p.eta, p.lam, 3, a2.data(),
                         nullptr, nullptr, 2);
  CHECK(a1 == a2);
}

int main() { return sc_test::run_all(); }
