// Fused forward / BPTT backward of the recurrent LIF-family layer (see
// train/recurrent_kernels.hpp for the equations). The neuron step is the model headers' block step
// (lif_discrete_block, alif_discrete_block) on one batch row; the recurrent product and the
// adjoint recursion are written here. Included by recurrent_kernels_f32.cpp / _f64.cpp (one dtype
// each). Compile-time variants: forward: soft reset, noise (LIF only), adaptive threshold, and
// in smooth mode the surrogate kind; backward: surrogate kind, soft reset, adaptive threshold.
#pragma once
#include <Eigen/Core>
#include <algorithm>
#include <type_traits>
#include <vector>

#include "spikecore/core/errors.hpp"
#include "spikecore/neurons/alif_discrete.hpp"
#include "spikecore/neurons/lif_discrete.hpp"
#include "spikecore/train/recurrent_kernels.hpp"

namespace spikecore::train {

namespace rec_detail {

template <typename T>
using Vec = Eigen::Array<T, Eigen::Dynamic, 1>;
template <typename T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using ColVec = Eigen::Matrix<T, Eigen::Dynamic, 1>;

template <SurrogateKind K, bool Smooth, typename T>
inline T spike_fn(T y, T alpha) {
  if constexpr (Smooth)
    return sg_cdf<K>(y, alpha);
  else
    return heaviside(y);
}

// x = I + r, r = sum over i with zp[i] != 0 (ascending) of zp[i] wt[i, :]: the event-driven
// recurrent product of one batch row (r accumulates from zero, then the input is added, as the
// reference computes I_t + z_{t-1} W_rec^T).
template <typename T>
inline void recurrent_input(int64_t n, const T* __restrict__ I, const T* __restrict__ zp,
                            const T* __restrict__ wt, T* __restrict__ r, T* __restrict__ x) {
  Eigen::Map<Vec<T>> rv(r, n);
  rv.setZero();
  for (int64_t i = 0; i < n; ++i) {
    const T zi = zp[i];
    if (zi != T(0)) rv += zi * Eigen::Map<const Vec<T>>(wt + i * n, n);
  }
  Eigen::Map<Vec<T>>(x, n) = Eigen::Map<const Vec<T>>(I, n) + rv;
}

// Batch rows [r0, r1) through all steps. h and aprev may be null (inference): then the block
// writes into per-call scratch rows.
template <typename T, SurrogateKind K, bool Soft, bool Noise, bool Smooth, bool Adapt>
void fwd_rows(const RecurrentArgs<T>& ra, const T* I, const T* wt, const T* v0, const T* a0,
              const T* z0, T* z, T* h, T* aprev, T* vT, T* aT, int64_t r0, int64_t r1) {
  const NeuronArgs<T>& a = ra.neuron;
  const int64_t n = a.n, N = ra.batch * n;
  const T vth = a.v_th, vr = a.v_reset, al = a.alpha;
  std::vector<T> scratch(size_t(4 * n));
  T* r = scratch.data();
  T* x = r + n;
  T* hs = x + n;
  T* aps = hs + n;
  for (int64_t b = r0; b < r1; ++b) {
    std::copy(v0 + b * n, v0 + (b + 1) * n, vT + b * n);
    if constexpr (Adapt) std::copy(a0 + b * n, a0 + (b + 1) * n, aT + b * n);
  }
  auto spike = [al](T y) { return spike_fn<K, Smooth>(y, al); };
  for (int64_t t = 0; t < a.steps; ++t) {
    for (int64_t b = r0; b < r1; ++b) {
      const int64_t off = t * N + b * n;
      const T* zp = t > 0 ? z + off - N : z0 + b * n;
      recurrent_input(n, I + off, zp, wt, r, x);
      T* ht = h ? h + off : (Adapt ? hs : nullptr);
      if constexpr (Adapt) {
        T* apt = aprev ? aprev + off : aps;
        alif_discrete_block<T, Soft>(0, n, a.beta, a.drive, vth, vr, a.rho, a.beta_a, x, vT + b * n,
                                     aT + b * n, z + off, ht, apt, spike);
      } else {
        lif_discrete_block<T, Soft, Noise>(0, n, a.beta, a.drive, vth, vr, x,
                                           Noise ? a.eps + off : nullptr, vT + b * n, z + off, ht,
                                           spike);
      }
    }
  }
}

// Backward over batch rows [r0, r1): gI, gv0, ga0, gz0 of these rows and their per-row parameter
// sums gb, gd [B n].
template <typename T, SurrogateKind K, bool Soft, bool Adapt>
void bwd_rows(const RecurrentArgs<T>& ra, const T* h, const T* ap, const T* z, const T* v0,
              const T* wt, const T* gz, const T* gvT, const T* gaT, T* gI, T* gv0, T* ga0, T* gz0,
              T* gb, T* gd, int64_t r0, int64_t r1) {
  const NeuronArgs<T>& a = ra.neuron;
  const int64_t n = a.n, N = ra.batch * n;
  const T vth = a.v_th, vr = a.v_reset, al = a.alpha, rho = a.rho, ba = a.beta_a;
  const T rk = a.detach_reset ? T(0) : T(1);
  const bool smooth = a.smooth, noise = a.smooth && a.eps != nullptr;
  const T* __restrict__ beta = a.beta;
  const Eigen::Map<const RowMat<T>> W(wt, n, n);  // W_rec^T [pre, post]
  // gv, ga and gr (= W_rec^T gh of the later step) of each row live in the row's gv0, ga0, gz0
  for (int64_t b = r0; b < r1; ++b) {
    for (int64_t i = 0; i < n; ++i) {
      const int64_t k = b * n + i;
      gv0[k] = gvT ? gvT[k] : T(0);
      if constexpr (Adapt) ga0[k] = gaT ? gaT[k] : T(0);
      gz0[k] = T(0);
      gb[k] = T(0);
      gd[k] = T(0);
    }
  }
  for (int64_t t = a.steps - 1; t >= 0; --t) {
    for (int64_t b = r0; b < r1; ++b) {
      const int64_t off = t * N + b * n;
      const T* __restrict__ ht = h + off;
      const T* __restrict__ zt = z + off;
      const T* __restrict__ apt = Adapt ? ap + off : nullptr;
      const T* __restrict__ et = noise ? a.eps + off : nullptr;
      const T* __restrict__ gzt = gz + off;
      const T* __restrict__ hp = t > 0 ? h + off - N : nullptr;
      const T* __restrict__ zp = t > 0 ? z + off - N : nullptr;
      const T* __restrict__ app = (Adapt && t > 0) ? ap + off - N : nullptr;
      const T* __restrict__ v0r = v0 + b * n;
      T* __restrict__ gv = gv0 + b * n;
      T* __restrict__ ga = Adapt ? ga0 + b * n : nullptr;
      T* __restrict__ gr = gz0 + b * n;
      T* __restrict__ ghr = gI + off;
      T* __restrict__ gbr = gb + b * n;
      T* __restrict__ gdr = gd + b * n;
      for (int64_t i = 0; i < n; ++i) {
        const T hh = ht[i];
        T theta = vth;
        if constexpr (Adapt) theta = alif_threshold(apt[i], vth);
        const T xx = hh - theta;
        // g'(x); smooth mode: g'(y), y = x + eps (the noise matters in backward only there)
        const T y = noise ? xx + et[i] : xx;
        const T zz = zt[i];
        const T s = sg_grad<K>(smooth ? y : xx, al);
        const T g = gv[i];
        T gzz = gzt[i] + gr[i];
        if constexpr (Adapt) gzz = gzz + ga[i] * ba;
        T dvdh;
        if constexpr (Soft) {
          gzz = gzz - rk * (g * (theta - vr));
          dvdh = T(1);
        } else {
          gzz = gzz + rk * (g * (vr - hh));
          dvdh = T(1) - zz;
        }
        const T gzs = gzz * s;
        const T gh = gzs + g * dvdh;
        if constexpr (Adapt) {
          T ga_new = ga[i] * rho - gzs;
          if constexpr (Soft) ga_new = ga_new - g * zz;
          ga[i] = ga_new;
        }
        ghr[i] = gh;
        T vprev;
        if (t > 0) {
          T thp = vth;
          if constexpr (Adapt) thp = alif_threshold(app[i], vth);
          vprev = lif_reset<Soft>(hp[i], zp[i], vr, thp - vr);
        } else {
          vprev = v0r[i];
        }
        gbr[i] += gh * vprev;
        gdr[i] += gh;
        gv[i] = gh * beta[i];
      }
      // gr = W_rec^T gh: the gradient reaching z_{t-1} through the recurrent product
      Eigen::Map<ColVec<T>>(gr, n).noalias() = W * Eigen::Map<const ColVec<T>>(ghr, n);
    }
  }
}

template <typename F>
inline void dispatch_flag(bool b, F&& f) {
  if (b)
    f(std::true_type{});
  else
    f(std::false_type{});
}

// Forward variants f(K, Soft, Noise, Smooth, Adapt), compile-time (Noise only without Adapt);
// the surrogate kind matters in the forward only in smooth mode.
template <typename T, typename F>
void dispatch_forward(const RecurrentArgs<T>& ra, F&& f) {
  const NeuronArgs<T>& a = ra.neuron;
  const bool noise = a.eps != nullptr;
  if (noise && ra.adaptive) throw value_error("eps: threshold noise is for the LIF neuron only");
  auto rest = [&](auto K, auto M) {
    dispatch_flag(a.soft, [&](auto S) {
      if (ra.adaptive) {
        f(K, S, std::false_type{}, M, std::true_type{});
      } else {
        dispatch_flag(noise, [&](auto E) { f(K, S, E, M, std::false_type{}); });
      }
    });
  };
  if (a.smooth) {
    dispatch_surrogate(a.kind, [&](auto K) { rest(K, std::true_type{}); });
  } else {
    rest(std::integral_constant<SurrogateKind, SurrogateKind::ATan>{}, std::false_type{});
  }
}

// Backward variants f(K, Soft, Adapt) (smooth mode and noise are runtime switches there).
template <typename T, typename F>
void dispatch_backward(const RecurrentArgs<T>& ra, F&& f) {
  dispatch_surrogate(ra.neuron.kind, [&](auto K) {
    dispatch_flag(ra.neuron.soft,
                  [&](auto S) { dispatch_flag(ra.adaptive, [&](auto A) { f(K, S, A); }); });
  });
}

// Batch rows as units of 16 for parallel_blocks (whose chunk bounds are multiples of 16).
template <typename F>
void parallel_rows(int n_threads, int64_t rows, int64_t work_per_row, F&& f) {
  const int64_t min_rows = std::max<int64_t>(1, 4096 / std::max<int64_t>(1, work_per_row));
  parallel_blocks(
      n_threads, rows * 16, [&](int64_t u0, int64_t u1) { f(u0 / 16, u1 / 16); }, 16 * min_rows);
}

}  // namespace rec_detail

template <typename T>
void recurrent_forward(const RecurrentArgs<T>& ra, const T* I, const T* wt, const T* v0,
                       const T* a0, const T* z0, T* z, T* h, T* aprev, T* vT, T* aT) {
  using namespace rec_detail;
  const NeuronArgs<T>& a = ra.neuron;
  dispatch_forward(ra, [&](auto K, auto S, auto E, auto M, auto A) {
    parallel_rows(a.n_threads, ra.batch, a.steps * a.n, [&](int64_t r0, int64_t r1) {
      fwd_rows<T, decltype(K)::value, decltype(S)::value, decltype(E)::value, decltype(M)::value,
               decltype(A)::value>(ra, I, wt, v0, a0, z0, z, h, aprev, vT, aT, r0, r1);
    });
  });
}

template <typename T>
void recurrent_backward(const RecurrentArgs<T>& ra, const T* h, const T* aprev, const T* z,
                        const T* v0, const T* z0, const T* wt, const T* gz, const T* gvT,
                        const T* gaT, T* gI, T* gwt, T* gv0, T* ga0, T* gz0, T* gbeta, T* gdrive) {
  using namespace rec_detail;
  const NeuronArgs<T>& a = ra.neuron;
  const int64_t n = a.n, B = ra.batch, N = B * n, steps = a.steps;
  std::vector<T> gb(static_cast<size_t>(N)), gd(static_cast<size_t>(N));
  if (a.eps != nullptr && ra.adaptive)
    throw value_error("eps: threshold noise is for the LIF neuron only");
  dispatch_backward(ra, [&](auto K, auto S, auto A) {
    parallel_rows(a.n_threads, B, steps * n, [&](int64_t r0, int64_t r1) {
      bwd_rows<T, decltype(K)::value, decltype(S)::value, decltype(A)::value>(
          ra, h, aprev, z, v0, wt, gz, gvT, gaT, gI, gv0, ga0, gz0, gb.data(), gd.data(), r0, r1);
    });
  });
  // per-neuron parameter gradients: batch rows summed in ascending order
  for (int64_t i = 0; i < n; ++i) {
    gbeta[i] = T(0);
    gdrive[i] = T(0);
  }
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < n; ++i) {
      gbeta[i] += gb[size_t(b * n + i)];
      gdrive[i] += gd[size_t(b * n + i)];
    }
  // dL/dW_rec^T [i, :] = sum over (t, b) ascending of z_{t-1}[b, i] gh_t[b, :]; threads own
  // blocks of pre rows i, so each entry is summed in the same order for any thread count
  parallel_blocks(
      a.n_threads, n,
      [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) std::fill(gwt + i * n, gwt + (i + 1) * n, T(0));
        for (int64_t t = 0; t < steps; ++t) {
          for (int64_t b = 0; b < B; ++b) {
            const T* zp = t > 0 ? z + (t - 1) * N + b * n : z0 + b * n;
            const Eigen::Map<const Vec<T>> gh(gI + t * N + b * n, n);
            for (int64_t i = i0; i < i1; ++i) {
              const T zi = zp[i];
              if (zi != T(0)) Eigen::Map<Vec<T>>(gwt + i * n, n) += zi * gh;
            }
          }
        }
      },
      std::max<int64_t>(1, 4096 / std::max<int64_t>(1, steps * B)) + 16);
}

}  // namespace spikecore::train

#define SPIKECORE_INSTANTIATE_RECURRENT_KERNELS(T)                                                \
  template void recurrent_forward<T>(const RecurrentArgs<T>&, const T*, const T*, const T*,       \
                                     const T*, const T*, T*, T*, T*, T*, T*);                     \
  template void recurrent_backward<T>(const RecurrentArgs<T>&, const T*, const T*, const T*,      \
                                      const T*, const T*, const T*, const T*, const T*, const T*, \
                                      T*, T*, T*, T*, T*, T*, T*);
