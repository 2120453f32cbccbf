// The recurrent layer kernels (train/recurrent_kernels.hpp): the forward equals a scalar loop of
// lif_discrete_step / alif_discrete_step fed by x_t = I_t + sum over spiking i (ascending) of
// W_rec[:, i], bit for bit; forward and backward are bitwise identical for 1, 2 and 3 threads.
#include <cstdint>
#include <random>
#include <vector>

#include "check.hpp"
#include "spikecore/neurons/alif_discrete.hpp"
#include "spikecore/neurons/lif_discrete.hpp"
#include "spikecore/train/recurrent_kernels.hpp"

using namespace spikecore;

namespace {

struct Problem {
  int64_t steps = 25, batch = 7, n = 33;
  std::vector<float> I, wt, v0, a0, z0, beta, drive;
  explicit Problem(unsigned seed) {
    std::mt19937 g(seed);
    std::normal_distribution<float> d(0.3f, 0.6f);
    std::uniform_real_distribution<float> u(0.f, 1.f);
    const size_t N = size_t(batch * n);
    I.resize(size_t(steps) * N);
    for (auto& x : I) x = d(g);
    wt.resize(size_t(n * n));
    for (auto& w : wt) w = (u(g) < 0.5f ? 0.f : 1.f) * (u(g) - 0.45f);
    v0.resize(N);
    a0.resize(N);
    z0.resize(N);
    for (size_t k = 0; k < N; ++k) {
      v0[k] = 0.3f * u(g);
      a0[k] = 0.1f * u(g);
      z0[k] = u(g) < 0.3f ? 1.f : 0.f;
    }
    beta.assign(size_t(n), 0.75f);
    drive.assign(size_t(n), 0.25f * 0.1f);
  }
  train::RecurrentArgs<float> args(bool adaptive, bool soft, int threads) const {
    train::RecurrentArgs<float> ra;
    ra.neuron.steps = steps;
    ra.neuron.n = n;
    ra.neuron.beta = beta.data();
    ra.neuron.drive = drive.data();
    ra.neuron.v_th = 1.f;
    ra.neuron.v_reset = soft ? 0.f : -0.1f;
    ra.neuron.soft = soft;
    ra.neuron.rho = 0.9f;
    ra.neuron.beta_a = 0.3f;
    ra.neuron.n_threads = threads;
    ra.batch = batch;
    ra.adaptive = adaptive;
    return ra;
  }
};

}  // namespace

TEST_CASE("recurrent_forward equals the scalar neuron step fed by the event-driven product") {
  const Problem p(1);
  const int64_t n = p.n, N = p.batch * n;
  for (int adaptive = 0; adaptive < 2; ++adaptive) {
    for (int soft = 0; soft < 2; ++soft) {
      const auto ra = p.args(adaptive, soft, 2);
      std::vector<float> z(p.I.size()), h(p.I.size()), ap(p.I.size()), vT(static_cast<size_t>(N)),
          aT(static_cast<size_t>(N));
      train::recurrent_forward<float>(ra, p.I.data(), p.wt.data(), p.v0.data(), p.a0.data(),
                                      p.z0.data(), z.data(), h.data(), ap.data(), vT.data(),
                                      aT.data());
      DiscreteALIFParams P;
      P.lif.beta = 0.75;
      P.lif.v_rest = 0.1;
      P.lif.v_reset = soft ? 0.0 : -0.1;
      P.lif.soft_reset = soft;
      P.rho = 0.9;
      P.beta_a = 0.3;
      auto c = DiscreteALIFCoeffs<float>::make(P);
      c.lif.drive = p.drive[0];  // the caller's drive, as the kernel gets it
      std::vector<float> v(p.v0), a(p.a0), zp(p.z0), zt(static_cast<size_t>(N));
      int64_t spikes = 0, mismatches = 0;
      for (int64_t t = 0; t < p.steps; ++t) {
        for (int64_t b = 0; b < p.batch; ++b) {
          for (int64_t j = 0; j < n; ++j) {
            float r = 0.f;
            for (int64_t i = 0; i < n; ++i)
              if (zp[size_t(b * n + i)] != 0.f)
                r += zp[size_t(b * n + i)] * p.wt[size_t(i * n + j)];
            const float x = p.I[size_t(t * N + b * n + j)] + r;
            const size_t k = size_t(b * n + j);
            float zz;
            if (adaptive)
              zz = soft ? alif_discrete_step<true>(c, v[k], a[k], x)
                        : alif_discrete_step<false>(c, v[k], a[k], x);
            else
              zz = soft ? lif_discrete_step<true>(c.lif, v[k], x)
                        : lif_discrete_step<false>(c.lif, v[k], x);
            zt[k] = zz;
            spikes += zz != 0.f;
            mismatches += zz != z[size_t(t * N) + k];
          }
        }
        zp = zt;
      }
      CHECK(spikes > 50);
      CHECK(mismatches == 0);
      CHECK(v == vT);
      if (adaptive) CHECK(a == aT);
    }
  }
}

TEST_CASE("recurrent forward and backward are bitwise identical for any thread count") {
  const Problem p(2);
  const size_t N = size_t(p.batch * p.n), TN = p.I.size(), n = size_t(p.n);
  for (int adaptive = 0; adaptive < 2; ++adaptive) {
    std::vector<std::vector<float>> ref;
    for (int threads : {1, 2, 3}) {
      const auto ra = p.args(adaptive, false, threads);
      std::vector<float> z(TN), h(TN), ap(TN), vT(N), aT(N);
      train::recurrent_forward<float>(ra, p.I.data(), p.wt.data(), p.v0.data(), p.a0.data(),
                                      p.z0.data(), z.data(), h.data(), ap.data(), vT.data(),
                                      aT.data());
      std::mt19937 g(3);
      std::normal_distribution<float> d(0.f, 1.f);
      std::vector<float> gz(TN), gvT(N);
      for (auto& x : gz) x = d(g);
      for (auto& x : gvT) x = d(g);
      std::vector<float> gI(TN), gwt(n * n), gv0(N), ga0(N), gz0(N), gb(n), gd(n);
      train::recurrent_backward<float>(ra, h.data(), ap.data(), z.data(), p.v0.data(), p.z0.data(),
                                       p.wt.data(), gz.data(), gvT.data(), nullptr, gI.data(),
                                       gwt.data(), gv0.data(), ga0.data(), gz0.data(), gb.data(),
                                       gd.data());
      std::vector<std::vector<float>> got = {z, vT, gI, gwt, gv0, gz0, gb, gd};
      if (ref.empty())
        ref = got;
      else
        CHECK(got == ref);
    }
  }
}

TEST_MAIN()
