#include "spikecore/models/hebbff.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <vector>

#include "spikecore/core/errors.hpp"
#include "spikecore/core/thread_pool.hpp"

namespace spikecore {
namespace models {

void HebbFFShape::validate() const {
  require(T >= 1, "x", "needs at least one time step");
  require(B >= 1, "x", "needs a batch of at least one");
  require(d >= 1, "x", "item dimension d must be >= 1");
  require(N >= 1, "W1", "needs at least one hidden unit");
}

int64_t hebbff_checkpoint_interval(int64_t T) {
  int64_t K = static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(T))));
  return std::max<int64_t>(K, 1);
}

namespace {

template <typename S>
using Mat = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename S>
using Vec = Eigen::Matrix<S, Eigen::Dynamic, 1>;
template <typename S>
using MapM = Eigen::Map<Mat<S>>;
template <typename S>
using CMapM = Eigen::Map<const Mat<S>>;
template <typename S>
using MapV = Eigen::Map<Vec<S>>;
template <typename S>
using CMapV = Eigen::Map<const Vec<S>>;

template <typename S>
inline S sigmoid(S v) {
  return S(1) / (S(1) + std::exp(-v));
}

// Runs f(b) for every batch element, split in fixed contiguous blocks over n_threads.
template <typename F>
void for_batch(int64_t B, int n_threads, F&& f) {
  const int nt = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(n_threads, B)));
  auto body = [&](int rank) {
    int64_t b0, b1;
    ThreadPool::block_range(B, nt, rank, b0, b1);
    for (int64_t b = b0; b < b1; ++b) f(b);
  };
  if (nt == 1) {
    body(0);
  } else {
    ThreadPool pool(nt);
    pool.run(body);
  }
}

}  // namespace

template <typename S>
void hebbff_forward(const HebbFFShape& s, const S* x, const S* W1, const S* b1, S eta, S lam,
                    int64_t K, S* a, S* ckpt, S* A_final, int n_threads) {
  s.validate();
  require(K >= 1, "K", "checkpoint interval must be >= 1");
  require_threads(n_threads);
  require_finite(static_cast<double>(eta), "eta");
  require_finite(static_cast<double>(lam), "lam");
  const int64_t T = s.T, B = s.B, N = s.N, d = s.d;
  CMapM<S> W(W1, N, d);
  CMapV<S> bias(b1, N);
  // the static part W1 x_t for every (t, b) as one matrix product (single-threaded Eigen GEMM,
  // so the result does not depend on n_threads)
  MapM<S>(a, T * B, N).noalias() = CMapM<S>(x, T * B, d) * W.transpose();
  for_batch(B, n_threads, [&](int64_t b) {
    Mat<S> A = Mat<S>::Zero(N, d);
    Vec<S> h(N);
    for (int64_t t = 0; t < T; ++t) {
      if (ckpt && t % K == 0) {
        MapM<S>(ckpt + ((t / K) * B + b) * N * d, N, d) = A;
      }
      CMapV<S> xt(x + (t * B + b) * d, d);
      MapV<S> at(a + (t * B + b) * N, N);
      at.noalias() += A * xt;
      at += bias;
      for (int64_t i = 0; i < N; ++i) h[i] = sigmoid(at[i]);
      A *= lam;
      A.noalias() += (eta * h) * xt.transpose();
    }
    if (A_final) MapM<S>(A_final + b * N * d, N, d) = A;
  });
}

template <typename S>
void hebbff_backward(const HebbFFShape& s, const S* x, const S* W1, S eta, S lam, int64_t K,
                     const S* a, const S* ckpt, const S* g_a, S* gx, S* gW1, S* gb1, double* geta,
                     double* glam, int n_threads) {
  s.validate();
  require(K >= 1, "K", "checkpoint interval must be >= 1");
  require_threads(n_threads);
  const int64_t T = s.T, B = s.B, N = s.N, d = s.d;
  const int64_t n_seg = hebbff_num_checkpoints(T, K);
  CMapM<S> W(W1, N, d);
  // ga_t for every (t, b); dW1 = GA^T X, db1 = column sums of GA and the W1 part of dx = GA W1
  // are formed after the recurrence, single-threaded, so results do not depend on n_threads.
  std::vector<S> GAbuf(static_cast<size_t>(T * B * N));
  std::vector<double> peta(static_cast<size_t>(B)), plam(static_cast<size_t>(B));
  for_batch(B, n_threads, [&](int64_t b) {
    double de = 0.0, dl = 0.0;
    Mat<S> G = Mat<S>::Zero(N, d);
    std::vector<Mat<S>> buf(static_cast<size_t>(std::min(K, T)), Mat<S>(N, d));
    Vec<S> h(N), Gx(N);
    for (int64_t seg = n_seg - 1; seg >= 0; --seg) {
      const int64_t t0 = seg * K, t1 = std::min(T, t0 + K);
      // recompute A_t for t in [t0, t1)
      buf[0] = CMapM<S>(ckpt + (seg * B + b) * N * d, N, d);
      for (int64_t t = t0; t + 1 < t1; ++t) {
        CMapV<S> xt(x + (t * B + b) * d, d);
        CMapV<S> at(a + (t * B + b) * N, N);
        for (int64_t i = 0; i < N; ++i) h[i] = sigmoid(at[i]);
        Mat<S>& nxt = buf[static_cast<size_t>(t + 1 - t0)];
        nxt = lam * buf[static_cast<size_t>(t - t0)];
        nxt.noalias() += (eta * h) * xt.transpose();
      }
      for (int64_t t = t1 - 1; t >= t0; --t) {
        const Mat<S>& At = buf[static_cast<size_t>(t - t0)];
        CMapV<S> xt(x + (t * B + b) * d, d);
        CMapV<S> at(a + (t * B + b) * N, N);
        CMapV<S> gt(g_a + (t * B + b) * N, N);
        for (int64_t i = 0; i < N; ++i) h[i] = sigmoid(at[i]);
        Gx.noalias() = G * xt;
        MapV<S> ga(GAbuf.data() + (t * B + b) * N, N);
        for (int64_t i = 0; i < N; ++i) ga[i] = gt[i] + h[i] * (S(1) - h[i]) * (eta * Gx[i]);
        de += static_cast<double>(h.dot(Gx));
        dl += static_cast<double>((G.array() * At.array()).sum());
        if (gx) {
          MapV<S> gxt(gx + (t * B + b) * d, d);
          gxt.noalias() = At.transpose() * ga;
          gxt.noalias() += G.transpose() * (eta * h);
        }
        G *= lam;
        G.noalias() += ga * xt.transpose();
      }
    }
    peta[static_cast<size_t>(b)] = de;
    plam[static_cast<size_t>(b)] = dl;
  });
  CMapM<S> GA(GAbuf.data(), T * B, N);
  CMapM<S> X(x, T * B, d);
  MapM<S>(gW1, N, d).noalias() = GA.transpose() * X;
  MapV<S> outb(gb1, N);
  outb.setZero();
  for (int64_t r = 0; r < T * B; ++r) outb += GA.row(r).transpose();
  if (gx) MapM<S>(gx, T * B, d).noalias() += GA * W;
  double e = 0.0, l = 0.0;
  for (int64_t b = 0; b < B; ++b) {
    e += peta[static_cast<size_t>(b)];
    l += plam[static_cast<size_t>(b)];
  }
  *geta = e;
  *glam = l;
}

template void hebbff_forward<float>(const HebbFFShape&, const float*, const float*, const float*,
                                    float, float, int64_t, float*, float*, float*, int);
template void hebbff_forward<double>(const HebbFFShape&, const double*, const double*,
                                     const double*, double, double, int64_t, double*, double*,
                                     double*, int);
template void hebbff_backward<float>(const HebbFFShape&, const float*, const float*, float, float,
                                     int64_t, const float*, const float*, const float*, float*,
                                     float*, float*, double*, double*, int);
template void hebbff_backward<double>(const HebbFFShape&, const double*, const double*, double,
                                      double, int64_t, const double*, const double*, const double*,
                                      double*, double*, double*, double*, double*, int);

}  // namespace models
}  // namespace spikecore
