// CE-LIF and dendritic kernels reproduce the engine-side step functions (neurons/celif.hpp
// celif_step, neurons/dendritic.hpp dendritic_soma_input) bit for bit, for any thread count,
// and parameter validation names the argument.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "check.hpp"
#include "spikecore/neurons/celif.hpp"
#include "spikecore/neurons/dendritic.hpp"
#include "spikecore/train/celif_kernels.hpp"
#include "spikecore/train/dendritic_kernels.hpp"

using namespace spikecore;

namespace {
std::vector<float> normal(size_t n, unsigned seed, float mu, float sd) {
  std::mt19937 g(seed);
  std::normal_distribution<float> d(mu, sd);
  std::vector<float> x(n);
  for (auto& v : x) v = d(g);
  return x;
}
}  // namespace

TEST_CASE("celif_forward equals celif_step") {
  const int64_t steps = 80, n = 3000;
  const auto I = normal(size_t(steps * n), 1, 0.5f, 0.7f);
  const auto q = normal(size_t(steps * n), 2, 0.f, 1.f);
  CELIFParams p;
  p.beta = 0.7;
  p.rho = 0.85;
  p.beta_a = 0.4;
  p.lambda_c = 0.97;
  p.gamma = 3.0;
  p.validate();
  // engine side
  CELIFState s;
  s.resize(size_t(n));
  std::vector<uint8_t> zs(size_t(steps * n));
  for (int64_t t = 0; t < steps; ++t)
    celif_step(p, s, I.data() + t * n, q.data() + t * n, zs.data() + t * n);
  int64_t spikes = 0;
  for (auto z : zs) spikes += z;
  CHECK(spikes > 0 && spikes < steps * n);
  for (int threads : {1, 2, 3}) {
    const float beta = float(p.beta), lam = float(p.lambda_c), oml = float(1.0 - p.lambda_c);
    train::CELIFArgs<float> a;
    a.steps = steps;
    a.n = n;
    a.beta = &beta;
    a.beta_stride = 0;
    a.lam = &lam;
    a.one_m_lam = &oml;
    a.lam_stride = 0;
    a.rho = float(p.rho);
    a.one_m_rho = float(1.0 - p.rho);
    a.beta_a = float(p.beta_a);
    a.gamma = float(p.gamma);
    a.v_th = float(p.v_th);
    a.n_threads = threads;
    std::vector<float> zero(size_t(n), 0.f), z(size_t(steps * n)), vT(static_cast<size_t>(n)),
        aT(static_cast<size_t>(n)), cT(static_cast<size_t>(n));
    train::celif_forward<float>(a, I.data(), q.data(), zero.data(), zero.data(), zero.data(),
                                z.data(), vT.data(), aT.data(), cT.data());
    bool same = true;
    for (size_t i = 0; i < z.size(); ++i) same = same && (z[i] == float(zs[i]));
    for (size_t i = 0; i < size_t(n); ++i)
      same = same && vT[i] == s.v[i] && aT[i] == s.a[i] && cT[i] == s.c[i];
    CHECK(same);
  }
}

TEST_CASE("CELIFParams::validate names the argument") {
  for (const char* name : {"beta", "rho", "lambda_c"}) {
    for (double bad : {0.0, -0.5, 1.5}) {
      CELIFParams p;
      if (std::string(name) == "beta") p.beta = bad;
      if (std::string(name) == "rho") p.rho = bad;
      if (std::string(name) == "lambda_c") p.lambda_c = bad;
      bool named = false;
      try {
        p.validate();
      } catch (const value_error& e) {
        named = std::string(e.what()).rfind(name, 0) == 0;
      }
      CHECK(named);
    }
  }
  CELIFParams p;
  p.beta = 1.0;
  p.validate();  // 1 is allowed
  p.beta_a = -1;
  CHECK_THROWS(p.validate());
}

TEST_CASE("dendritic_forward equals dendritic_soma_input per neuron") {
  const int64_t rows = 37, in = 50, out = 9, K = 4, m = 20;
  const auto x = normal(size_t(rows * in), 3, 0.f, 1.f);
  const auto w = normal(size_t(out * K * m), 4, 0.f, 0.3f);
  const auto b = normal(size_t(out * K), 5, 0.f, 0.3f);
  std::mt19937 g(6);
  std::vector<int64_t> idx(size_t(out * K * m));
  for (auto& i : idx) i = int64_t(g() % uint32_t(in));
  for (int gk = 0; gk < 3; ++gk) {
    std::vector<float> yref(size_t(rows * out)), uref(size_t(rows * out * K));
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < out; ++j)
        yref[size_t(r * out + j)] = dendritic_soma_input<float>(
            BranchFn(gk), K, m, w.data() + j * K * m, b.data() + j * K, idx.data() + j * K * m,
            x.data() + r * in, uref.data() + (r * out + j) * K);
    for (int threads : {1, 2, 3}) {
      train::DendriticArgs a;
      a.rows = rows;
      a.in = in;
      a.out = out;
      a.k = K;
      a.m = m;
      a.g = BranchFn(gk);
      a.n_threads = threads;
      std::vector<float> u(uref.size()), y(yref.size());
      train::dendritic_forward<float>(a, x.data(), w.data(), b.data(), idx.data(), u.data(),
                                      y.data());
      CHECK(y == yref && u == uref);
    }
  }
  CHECK_THROWS(train::check_index(idx.data(), idx.size(), 10));
  CHECK_THROWS(train::branch_fn(3));
}

TEST_MAIN()
