// The model headers' block steps equal their scalar steps bit for bit (engine: lif_block /
// alif_block vs lif_step / alif_step; training: lif_discrete_block vs lif_discrete_step), and the
// training kernels reproduce the engine's neuron step (lif_step / alif_step with
// LIFCoeffs::discrete) bit for bit, for any thread count.
#include <cstdint>
#include <random>
#include <vector>

#include "check.hpp"
#include "spikecore/neurons/alif.hpp"
#include "spikecore/neurons/alif_discrete.hpp"
#include "spikecore/neurons/lif.hpp"
#include "spikecore/neurons/lif_discrete.hpp"
#include "spikecore/neurons/noisy_lif.hpp"
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
    std::vector<float> v0(n, 0.f), a0(n, 0.f), z(x.size()), h(x.size()), ap(x.size()), vT(n), aT(n);
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

namespace {
// Engine block step vs scalar step over `steps` steps of n neurons with random inputs (and a
// current input when Cur); Adapt: ALIF. Returns the number of mismatches (spikes, state).
template <SynapseKind K, bool Soft, bool Cur, bool Adapt>
int64_t block_vs_scalar(const ALIFCoeffs& c, int64_t steps, int32_t n, int64_t& spikes) {
  std::mt19937 g(7);
  std::normal_distribution<float> d(4.f, 6.f);
  LIFState sb, ss;
  sb.resize(size_t(n), 0.f);
  ss.resize(size_t(n), 0.f);
  std::vector<float> ab(size_t(n), 0.f), as(size_t(n), 0.f);
  std::vector<float> in0(static_cast<size_t>(n)), in1(static_cast<size_t>(n)),
      cur(static_cast<size_t>(n));
  std::vector<int32_t> flag(static_cast<size_t>(n));
  const float scale = 0.25f;
  int64_t bad = 0;
  for (int64_t t = 0; t < steps; ++t) {
    for (int32_t i = 0; i < n; ++i) {
      in0[size_t(i)] = d(g);
      in1[size_t(i)] = -0.05f * std::fabs(d(g));
      cur[size_t(i)] = d(g);
    }
    const std::vector<float> x0 = in0, x1 = in1;
    // two blocks, as the engine's chunks
    for (int32_t b = 0; b < n; b += 100) {
      const int32_t len = std::min<int32_t>(100, n - b);
      if constexpr (Adapt)
        alif_block<K, Soft, Cur>(c, sb, ab.data(), b, len, in0.data(), in1.data(), cur.data(),
                                 scale, flag.data() + b);
      else
        lif_block<K, Soft, Cur>(c.lif, sb, b, len, in0.data(), in1.data(), cur.data(), scale,
                                flag.data() + b);
    }
    for (int32_t i = 0; i < n; ++i) {
      const size_t k = size_t(i);
      const float drive = Cur ? cur[k] * scale : 0.f;
      bool s;
      if constexpr (Adapt)
        s = alif_step<K>(c, ss.v[k], ss.i_ex[k], ss.i_in[k], ss.ref[k], as[k], x0[k], x1[k], drive);
      else
        s = lif_step<K>(c.lif, ss.v[k], ss.i_ex[k], ss.i_in[k], ss.ref[k], x0[k], x1[k], drive);
      spikes += s;
      bad += (flag[k] != int32_t(s)) + (in0[k] != 0.f) + (sb.v[k] != ss.v[k]) +
             (sb.ref[k] != ss.ref[k]) + (ab[k] != as[k]);
      if (K == SynapseKind::Exp)
        bad += (in1[k] != 0.f) + (sb.i_ex[k] != ss.i_ex[k]) + (sb.i_in[k] != ss.i_in[k]);
    }
  }
  return bad;
}

template <SynapseKind K, bool Adapt>
void check_block(bool soft) {
  LIFParams p;
  p.synapse = K;
  p.tau_m = 10.0;
  p.v_th = 15.0;
  p.v_reset = soft ? 0.0 : 5.0;
  p.t_ref = 2.0;
  p.i_e = 1.0;
  p.soft_reset = soft;
  ALIFParams ap;
  ap.lif = p;
  ap.tau_a = 50.0;
  ap.beta_a = 2.0;
  const ALIFCoeffs c = ALIFCoeffs::make(ap, 0.5);
  for (int cur = 0; cur < 2; ++cur) {
    int64_t spikes = 0, bad;
    if (soft)
      bad = cur ? block_vs_scalar<K, true, true, Adapt>(c, 200, 250, spikes)
                : block_vs_scalar<K, true, false, Adapt>(c, 200, 250, spikes);
    else
      bad = cur ? block_vs_scalar<K, false, true, Adapt>(c, 200, 250, spikes)
                : block_vs_scalar<K, false, false, Adapt>(c, 200, 250, spikes);
    CHECK(spikes > 500);
    CHECK(bad == 0);
  }
}
}  // namespace

TEST_CASE("lif_block equals lif_step (delta, exp; hard, soft; current input)") {
  for (int soft = 0; soft < 2; ++soft) {
    check_block<SynapseKind::Delta, false>(soft);
    check_block<SynapseKind::Exp, false>(soft);
  }
}

TEST_CASE("alif_block equals alif_step (delta, exp; hard, soft; current input)") {
  for (int soft = 0; soft < 2; ++soft) {
    check_block<SynapseKind::Delta, true>(soft);
    check_block<SynapseKind::Exp, true>(soft);
  }
}

TEST_CASE("discrete block steps equal their scalar steps") {
  const int64_t steps = 50, n = 777;
  const auto x = random_input(steps, n, 4);
  const auto eps = random_input(steps, n, 5);
  DiscreteALIFParams p;
  p.lif = {0.8, 0.1, 1.0, -0.2, false};
  p.rho = 0.9;
  p.beta_a = 0.3;
  for (int soft = 0; soft < 2; ++soft) {
    p.lif.soft_reset = soft;
    p.lif.v_reset = soft ? 0.0 : -0.2;
    const auto c = DiscreteALIFCoeffs<float>::make(p);
    const std::vector<float> beta(size_t(n), c.lif.beta), drive(size_t(n), c.lif.drive);
    std::vector<float> v(size_t(n), 0.f), a(size_t(n), 0.f), vn(size_t(n), 0.f);
    std::vector<float> va(size_t(n), 0.f), aa(size_t(n), 0.f), z(static_cast<size_t>(n)),
        h(static_cast<size_t>(n)), za(static_cast<size_t>(n)), ap(static_cast<size_t>(n)),
        zn(static_cast<size_t>(n));
    std::vector<float> sv(size_t(n), 0.f), sva(size_t(n), 0.f), saa(size_t(n), 0.f),
        svn(size_t(n), 0.f);
    int64_t bad = 0, spikes = 0;
    auto H = [](float y) { return heaviside(y); };
    for (int64_t t = 0; t < steps; ++t) {
      const float* xt = x.data() + t * n;
      const float* et = eps.data() + t * n;
      if (soft) {
        lif_discrete_block<float, true, false>(0, n, beta.data(), drive.data(), c.lif.v_th,
                                               c.lif.v_reset, xt, nullptr, v.data(), z.data(),
                                               h.data(), H);
        alif_discrete_block<float, true>(0, n, beta.data(), drive.data(), c.lif.v_th, c.lif.v_reset,
                                         c.rho, c.beta_a, xt, va.data(), aa.data(), za.data(),
                                         h.data(), ap.data(), H);
        noisy_lif_block<float, true>(0, n, beta.data(), drive.data(), c.lif.v_th, c.lif.v_reset, xt,
                                     et, vn.data(), zn.data(), nullptr, H);
      } else {
        lif_discrete_block<float, false, false>(0, n, beta.data(), drive.data(), c.lif.v_th,
                                                c.lif.v_reset, xt, nullptr, v.data(), z.data(),
                                                h.data(), H);
        alif_discrete_block<float, false>(0, n, beta.data(), drive.data(), c.lif.v_th,
                                          c.lif.v_reset, c.rho, c.beta_a, xt, va.data(), aa.data(),
                                          za.data(), h.data(), ap.data(), H);
        noisy_lif_block<float, false>(0, n, beta.data(), drive.data(), c.lif.v_th, c.lif.v_reset,
                                      xt, et, vn.data(), zn.data(), nullptr, H);
      }
      for (int64_t i = 0; i < n; ++i) {
        const size_t k = size_t(i);
        float s, sa, sn;
        if (soft) {
          s = lif_discrete_step<true>(c.lif, sv[k], xt[i]);
          sa = alif_discrete_step<true>(c, sva[k], saa[k], xt[i]);
          sn = noisy_lif_step<true>(c.lif, svn[k], xt[i], et[i]);
        } else {
          s = lif_discrete_step<false>(c.lif, sv[k], xt[i]);
          sa = alif_discrete_step<false>(c, sva[k], saa[k], xt[i]);
          sn = noisy_lif_step<false>(c.lif, svn[k], xt[i], et[i]);
        }
        spikes += int64_t(s) + int64_t(sa) + int64_t(sn);
        bad += (s != z[k]) + (sv[k] != v[k]) + (sa != za[k]) + (sva[k] != va[k]) +
               (saa[k] != aa[k]) + (sn != zn[k]) + (svn[k] != vn[k]);
      }
    }
    CHECK(spikes > 1000);
    CHECK(bad == 0);
  }
  // validation names the argument
  DiscreteLIFParams bad;
  bad.beta = 1.5;
  CHECK_THROWS(bad.validate());
  DiscreteALIFParams bada;
  bada.rho = -0.1;
  CHECK_THROWS(bada.validate());
  NoisyLIFParams badn;
  badn.sigma = 0;
  CHECK_THROWS(badn.validate());
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
  const int64_t nnz =
      train::gather_active<float>(x.data(), rows, k, rp.data(), nullptr, nullptr, 2);
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
  {  // with the bit words kept between the passes: the same lists; all values 1: indices only
    std::vector<uint64_t> masks(size_t(rows * ((k + 63) / 64)));
    std::vector<int64_t> rp3(rows + 1);
    bool ones = false;
    CHECK(train::gather_active<float>(x.data(), rows, k, rp3.data(), nullptr, nullptr, 2, false,
                                      masks.data(), &ones) == nnz);
    CHECK(ones);
    CHECK(rp3 == rp);
    std::vector<int32_t> idx3(nnz);
    train::gather_active<float>(x.data(), rows, k, rp3.data(), idx3.data(), nullptr, 2, true,
                                masks.data());
    CHECK(idx3 == idx);
    std::vector<float> x2 = x;
    x2[size_t(idx[0])] = 0.5f;  // row 0's first active entry (row 0 starts the array)
    CHECK(rp[1] > 0);
    train::gather_active<float>(x2.data(), rows, k, rp3.data(), nullptr, nullptr, 1, false,
                                masks.data(), &ones);
    CHECK(!ones);
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
  // the weight's own layout [M, K] and the bias gradient in the same pass: the same sums
  for (int threads : {1, 2, 3}) {
    std::vector<float> gw(static_cast<size_t>(m * k));
    std::vector<float> gb(static_cast<size_t>(m));
    train::sparse_rows_weight_grad<float>(rp.data(), idx.data(), val.data(), rows, gy.data(), k, m,
                                          gw.data(), threads, gb.data(), true);
    bool same = true;
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < m; ++j) same = same && gw[j * k + i] == gwt[i * m + j];
    CHECK(same);
    double errb = 0;
    for (int64_t j = 0; j < m; ++j) {
      float s = 0;  // row order, as the kernel sums
      for (int64_t r = 0; r < rows; ++r) s += gy[r * m + j];
      errb = std::max(errb, double(std::fabs(s - gb[j])));
    }
    CHECK(errb == 0);
  }
}

TEST_CASE("thread backends: auto by default; openmp needs a resident runtime") {
  CHECK(train::thread_backend() == train::ThreadBackend::Auto);
  if (!train::openmp_resident()) {  // this test binary loads no OpenMP runtime
    train::set_thread_backend(train::ThreadBackend::OpenMP);
    bool threw = false;
    try {
      train::parallel_blocks(2, 1000, [](int64_t, int64_t) {}, 16);
    } catch (const std::exception&) {
      threw = true;
    }
    CHECK(threw);
    train::set_thread_backend(train::ThreadBackend::Auto);  // falls back to the own team
    std::vector<int> hit(1000, 0);
    train::parallel_blocks(
        2, 1000,
        [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) hit[size_t(i)] += 1;
        },
        16);
    for (int h : hit) CHECK(h == 1);
  }
  train::set_thread_backend(train::ThreadBackend::Auto);
}

TEST_MAIN()
