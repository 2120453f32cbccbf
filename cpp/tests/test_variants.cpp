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
  // engine side: the block step (reads and clears its inputs)
  const CELIFCoeffs cf = CELIFCoeffs::make(p, size_t(n));
  CELIFState s;
  s.resize(static_cast<size_t>(n));
  std::vector<uint8_t> zs(size_t(steps * n));
  std::vector<int32_t> flag(static_cast<size_t>(n));
  for (int64_t t = 0; t < steps; ++t) {
    std::vector<float> in0(I.begin() + t * n, I.begin() + (t + 1) * n);
    std::vector<float> in1(q.begin() + t * n, q.begin() + (t + 1) * n);
    celif_block<false, false>(cf, s.v.data(), s.a.data(), s.c.data(), 0, int32_t(n), in0.data(),
                              in1.data(), nullptr, flag.data());
    for (int64_t i = 0; i < n; ++i) zs[size_t(t * n + i)] = uint8_t(flag[size_t(i)]);
    CHECK(in0 == std::vector<float>(size_t(n), 0.f) && in1 == in0);
  }
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
  // the engine's branch stage: with the summed branch inputs s of one row as its inputs,
  // dendritic_block gives the same u (bias included) and y, bit for bit
  for (int gk = 0; gk < 3; ++gk) {
    const int64_t r = 5;
    std::vector<float> uref(size_t(out * K)), yref(static_cast<size_t>(out)), s(size_t(out * K));
    for (int64_t j = 0; j < out; ++j) {
      yref[size_t(j)] = dendritic_soma_input<float>(BranchFn(gk), K, m, w.data() + j * K * m,
                                                    b.data() + j * K, idx.data() + j * K * m,
                                                    x.data() + r * in, uref.data() + j * K);
      // s: the same sums without the bias
      std::vector<float> u0(static_cast<size_t>(K));
      dendritic_soma_input<float>(BranchFn(gk), K, m, w.data() + j * K * m, nullptr,
                                  idx.data() + j * K * m, x.data() + r * in, u0.data());
      for (int64_t k = 0; k < K; ++k) s[size_t(j * K + k)] = u0[size_t(k)];
    }
    std::vector<float> u(size_t(out * K), 123.f), y(static_cast<size_t>(out));
    switch (BranchFn(gk)) {
      case BranchFn::ReLU:
        dendritic_block<BranchFn::ReLU>(int32_t(K), 0.f, b.data(), u.data(), 0, int32_t(out),
                                        s.data(), y.data());
        break;
      case BranchFn::Sigmoid:
        dendritic_block<BranchFn::Sigmoid>(int32_t(K), 0.f, b.data(), u.data(), 0, int32_t(out),
                                           s.data(), y.data());
        break;
      default:
        dendritic_block<BranchFn::Identity>(int32_t(K), 0.f, b.data(), u.data(), 0, int32_t(out),
                                            s.data(), y.data());
    }
    CHECK(u == uref && y == yref);
    CHECK(s == std::vector<float>(s.size(), 0.f));  // inputs read and cleared
  }
}

TEST_CASE("leaky dendritic branches rest at their bias") {
  // u_t = (s_t + b) + delta (u_{t-1} - b), u_0 = b: without input u stays at b exactly
  const int32_t n = 3, K = 2;
  const std::vector<float> bias = {0.5f, -0.25f, 1.f, 0.f, -2.f, 0.125f};
  DendriticState st;
  st.resize(size_t(n * K), bias.data());
  std::vector<float> in(size_t(n * K), 0.f), y(static_cast<size_t>(n));
  for (int t = 0; t < 5; ++t)
    dendritic_block<BranchFn::Identity>(K, 0.75f, bias.data(), st.u.data(), 0, n, in.data(),
                                        y.data());
  CHECK(st.u == bias);
  in[0] = 1.f;  // one input: decays back towards the bias
  dendritic_block<BranchFn::Identity>(K, 0.75f, bias.data(), st.u.data(), 0, n, in.data(),
                                      y.data());
  CHECK(st.u[0] == 1.5f && y[0] == 1.5f - 0.25f);
  dendritic_block<BranchFn::Identity>(K, 0.75f, bias.data(), st.u.data(), 0, n, in.data(),
                                      y.data());
  CHECK(st.u[0] == 0.5f + 0.75f);
  DendriticParams p;
  p.decay = 1.5;
  CHECK_THROWS(p.validate());
  CHECK_THROWS(train::branch_fn(3));
}

TEST_MAIN()
