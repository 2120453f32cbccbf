// Conversion neurons (neurons/if_neuron.hpp, neurons/stdi.hpp): one STDI window is the quantiser
// floor(a 2^T) / 2^T (claim 1 of issue 13), the fused kernels equal the scalar steps for any
// thread count, and validation names the argument.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "check.hpp"
#include "spikecore/neurons/if_neuron.hpp"
#include "spikecore/neurons/stdi.hpp"
#include "spikecore/train/conversion_kernels.hpp"

using namespace spikecore;

TEST_CASE("stdi window reproduces floor(a 2^T) / 2^T") {
  for (int32_t T : {1, 3, 5, 8}) {
    STDIParams p;
    p.T = T;
    p.rounding = false;
    const int64_t n = 4096;
    const size_t nn = static_cast<size_t>(n), nt = static_cast<size_t>(T) * nn;
    std::vector<float> a(nn), x(nt), z(nt), th(nn, 1.f);
    std::mt19937 g(static_cast<unsigned>(T));
    std::uniform_real_distribution<float> u(0.f, 1.f);
    for (int64_t i = 0; i < n; ++i) {
      a[size_t(i)] = i < 256 ? float(i % (1 << std::min(T, 8))) / float(1 << std::min(T, 8)) : u(g);
      for (int32_t t = 0; t < T; ++t) x[size_t(t * n + i)] = a[size_t(i)];
    }
    train::stdi_forward<float>(p, x.data(), th.data(), n, z.data(), 2);
    const STDICoeffs c = STDICoeffs::make(p);
    double worst = 0;
    for (int64_t i = 0; i < n; ++i) {
      double y = 0;
      for (int32_t t = 0; t < T; ++t) y += z[size_t(t * n + i)] * c.factor[size_t(t)] / T;
      worst =
          std::max(worst, std::fabs(y - std::floor(double(a[size_t(i)]) * (1 << T)) / (1 << T)));
    }
    CHECK(worst < 1e-6);
  }
}

TEST_CASE("if and stdi kernels equal the scalar steps, any thread count") {
  const int64_t T = 6, n = 3000;
  std::mt19937 g(7);
  std::normal_distribution<float> d(0.2f, 0.8f);
  std::uniform_real_distribution<float> u(0.3f, 1.5f);
  std::vector<float> x(static_cast<size_t>(T * n)), th(static_cast<size_t>(n));
  for (auto& v : x) v = d(g);
  for (auto& v : th) v = u(g);
  for (double slope : {0.0, 0.25}) {
    IFParams ip;
    ip.negative_slope = slope;
    std::vector<float> z1(x.size()), z2(x.size());
    train::if_forward<float>(ip, x.data(), th.data(), T, n, z1.data(), 1);
    train::if_forward<float>(ip, x.data(), th.data(), T, n, z2.data(), 3);
    CHECK(z1 == z2);
    const IFCoeffs ic = IFCoeffs::make(ip);
    for (int64_t i = 0; i < n; ++i) {
      float v = ic.v0 * th[size_t(i)];
      for (int64_t t = 0; t < T; ++t) {
        const float s =
            slope > 0 ? if_step<true, float>(ic.slope, th[size_t(i)], v, x[size_t(t * n + i)])
                      : if_step<false, float>(ic.slope, th[size_t(i)], v, x[size_t(t * n + i)]);
        CHECK(s == z1[size_t(t * n + i)]);
      }
    }
    for (int32_t D : {1, 3, 6}) {
      STDIParams sp;
      sp.T = int32_t(T);
      sp.delay = D;
      sp.negative_slope = slope;
      std::vector<float> s1(x.size()), s2(x.size());
      train::stdi_forward<float>(sp, x.data(), th.data(), n, s1.data(), 1);
      train::stdi_forward<float>(sp, x.data(), th.data(), n, s2.data(), 2);
      CHECK(s1 == s2);
    }
  }
}

TEST_CASE("conversion neuron parameters are validated") {
  STDIParams p;
  p.T = 0;
  CHECK_THROWS(p.validate());
  p.T = 4;
  p.delay = 5;
  CHECK_THROWS(p.validate());
  IFParams q;
  q.v0 = 1.0;
  CHECK_THROWS(q.validate());
  q.v0 = 0.5;
  q.v_th = -1.0;
  CHECK_THROWS(q.validate());
}

TEST_MAIN()
