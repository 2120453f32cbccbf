// The training kernels reproduce the engine's neuron step (lif_step / alif_step with
// LIFCoeffs::discrete) bit for bit, for any thread count.
#include <cstdint>
#include <random>
#include <vector>

#include "check.hpp"
#include "spikecore/neurons/alif.hpp"
#include "spikecore/neurons/lif.hpp"
#include "spikecore/train/kernels.hpp"

using namespace spikecore;

namespace {
std::vector<float> random_input(int64_t steps, int64_t n, unsigned seed) {
  std::mt19937 g(seed);
  std::normal_distribution<float> d(0.45f, 0.6f);
  std::vector<float> x(size_t(steps * n));
  for (auto& v : x) v = d(g);
  return x;
}
}  // namespace

TEST_CASE("lif_forward equals lif_step<Delta> with LIFCoeffs::discrete") {
  const int64_t steps = 60, n = 5000;
  const auto x = random_input(steps, n, 1);
  for (int soft = 0; soft < 2; ++soft) {
    for (int threads : {1, 2, 3}) {
      const double beta = 0.8, v_rest = 0.1, v_th = 1.0, v_reset = soft ? 0.0 : -0.2;
      const LIFCoeffs c = LIFCoeffs::discrete(beta, v_rest, v_th, v_reset, soft);
      train::NeuronArgs<float> a;
      a.steps = steps;
      a.n = n;
      const std::vector<float> b(n, float(beta)), d(n, c.v_drive);
      a.beta = b.data();
      a.drive = d.data();
      a.v_th = float(v_th);
      a.v_reset = float(v_reset);
      a.soft = soft;
      a.n_threads = threads;
      std::vector<float> v0(n, float(v_rest)), z(x.size()), h(x.size()), vT(n);
      train::lif_forward<float>(a, x.data(), v0.data(), z.data(), h.data(), vT.data());
      int64_t spikes = 0, mismatches = 0;
      for (int64_t i = 0; i < n; ++i) {
        float v = float(v_rest), ie = 0, ii = 0;
        int32_t ref = 0;
        for (int64_t t = 0; t < steps; ++t) {
          const bool s = lif_step<SynapseKind::Delta>(c, v, ie, ii, ref, x[t * n + i], 0.f);
          spikes += s;
          mismatches += (s ? 1.f : 0.f) != z[t * n + i];
        }
        mismatches += v != vT[i];
      }
      CHECK(spikes > 1000);
      CHECK(mismatches == 0);
    }
  }
}

TEST_CASE("alif_forward equals alif_step<Delta>") {
  const int64_t steps = 80, n = 3000;
  const auto x = random_input(steps, n, 2);
  for (int soft = 0; soft < 2; ++soft) {
    const double beta = 0.7, v_th = 1.0, v_reset = 0.0;
    ALIFCoeffs c;
    c.lif = LIFCoeffs::discrete(beta, 0.0, v_th, v_reset, soft);
    c.p_a = 0.95f;
    c.beta_a = 0.3f;
    train::NeuronArgs<float> a;
    a.steps = steps;
    a.n = n;
    const std::vector<float> b(n, float(beta)), d(n, 0.f);
    a.beta = b.data();
    a.drive = d.data();
    a.soft = soft;
    a.rho = c.p_a;
    a.beta_a = c.beta_a;
    a.n_threads = 2;
    std::vector<float> v0(n, 0.f), a0(n, 0.f), z(x.size()), h(x.size()), ap(x.size()), vT(n),
        aT(n);
    train::alif_forward<float>(a, x.data(), v0.data(), a0.data(), z.data(), h.data(), ap.data(),
                               vT.data(), aT.data());
    int64_t spikes = 0, mismatches = 0;
    for (int64_t i = 0; i < n; ++i) {
      float v = 0, ie = 0, ii = 0, ad = 0;
      int32_t ref = 0;
      for (int64_t t = 0; t < steps; ++t) {
        const bool s = alif_step<SynapseKind::Delta>(c, v, ie, ii, ref, ad, x[t * n + i], 0.f);
        spikes += s;
        mismatches += (s ? 1.f : 0.f) != z[t * n + i];
      }
      mismatches += (v != vT[i]) + (ad != aT[i]);
    }
    CHECK(spikes > 1000);
    CHECK(mismatches == 0);
  }
}

TEST_CASE("sparse row products equal the dense product") {
  const int64_t rows = 50, k = 40, m = 300;
  std::mt19937 g(3);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  std::vector<float> x(size_t(rows * k)), wt(size_t(k * m)), gy(size_t(rows * m));
  for (auto& v : x) v = u(g) < 0.1f ? 1.f : 0.f;
  for (auto& v : wt) v = u(g) - 0.5f;
  for (auto& v : gy) v = u(g) - 0.5f;
  std::vector<int64_t> rp(rows + 1);
  const int64_t nnz = train::gather_active<float>(x.data(), rows, k, rp.data(), nullptr, nullptr, 2);
  std::vector<int32_t> idx(nnz);
  std::vector<float> val(nnz), y(size_t(rows * m)), gwt(size_t(k * m));
  train::gather_active<float>(x.data(), rows, k, rp.data(), idx.data(), val.data(), 2);
  {  // fill-only pass on the offsets of the counting call: the same lists
    std::vector<int32_t> idx2(nnz);
    std::vector<float> val2(nnz);
    train::gather_active<float>(x.data(), rows, k, rp.data(), idx2.data(), val2.data(), 1, true);
    CHECK(idx2 == idx);
    CHECK(val2 == val);
  }
  train::sparse_rows_matmul<float>(rp.data(), idx.data(), val.data(), rows, wt.data(), m, nullptr,
                                   y.data(), 2);
  train::sparse_rows_weight_grad<float>(rp.data(), idx.data(), val.data(), rows, gy.data(), k, m,
                                        gwt.data(), 2);
  double err = 0, errg = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < m; ++j) {
      double s = 0;
      for (int64_t i = 0; i < k; ++i) s += double(x[r * k + i]) * wt[i * m + j];
      err = std::max(err, std::fabs(s - y[r * m + j]));
    }
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < m; ++j) {
      double s = 0;
      for (int64_t r = 0; r < rows; ++r) s += double(x[r * k + i]) * gy[r * m + j];
      errg = std::max(errg, std::fabs(s - gwt[i * m + j]));
    }
  CHECK(nnz > 100);
  CHECK(err < 1e-5);
  CHECK(errg < 1e-5);
}

TEST_MAIN()
