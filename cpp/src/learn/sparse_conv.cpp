// Synapse-sparse 2-D convolution (see spikecore/learn/sparse_conv.hpp).
#include "spikecore/learn/sparse_conv.hpp"

#include <algorithm>

#include "spikecore/train/kernels.hpp"

namespace spikecore::learn {

using spikecore::train::parallel_blocks;

namespace {

// Output index o along one axis hit by input index i through kernel tap k:
// o * s + k - p = i  <=>  o = (i + p - k) / s when divisible. Returns -1 when none.
template <bool S1>
inline int64_t out_index(int64_t i, int64_t k, int64_t s, int64_t p, int64_t n_out) {
  const int64_t t = i + p - k;
  if (t < 0) return -1;
  int64_t o = t;
  if (!S1) {
    if (t % s != 0) return -1;
    o = t / s;
  }
  return o < n_out ? o : -1;
}

// Range [lo, hi) of outputs o whose input o * s + k - p lies in [0, n_in).
inline void out_range(int64_t k, int64_t s, int64_t p, int64_t n_in, int64_t n_out, int64_t* lo,
                      int64_t* hi) {
  const int64_t a = p - k;  // o * s >= a
  *lo = a > 0 ? (a + s - 1) / s : 0;
  const int64_t b = n_in - 1 + p - k;  // o * s <= b
  *hi = b < 0 ? 0 : std::min(n_out, b / s + 1);
  if (*hi < *lo) *hi = *lo;
}

// Calls f(oh, ow, r, v) for every nonzero pixel v = plane[ih, iw] (ascending) and every kernel
// tap r = kh * KW + kw through which it reaches output (oh, ow), taps ascending.
template <bool S1, typename T, typename F>
inline void for_each_event(const ConvGeometry& g, const T* plane, const int64_t* rpc, F&& f) {
  for (int64_t ih = 0; ih < g.h; ++ih) {
    const T* row = plane + ih * g.w;
    for (int64_t iw = 0; iw < g.w; ++iw) {
      const T v = row[iw];
      if (v == T(0)) continue;
      for (int64_t kh = 0; kh < g.kh; ++kh) {
        const int64_t oh = out_index<S1>(ih, kh, g.sh, g.ph, g.oh);
        if (oh < 0) continue;
        for (int64_t kw = 0; kw < g.kw; ++kw) {
          const int64_t r = kh * g.kw + kw;
          if (rpc[r] == rpc[r + 1]) continue;
          const int64_t ow = out_index<S1>(iw, kw, g.sw, g.pw, g.ow);
          if (ow < 0) continue;
          f(oh, ow, r, v);
        }
      }
    }
  }
}

template <bool S1, typename T>
void forward_impl(const ConvGeometry& g, const T* x, const int64_t* row_ptr, const int32_t* post,
                  const T* w, const T* bias, T* y, int n_threads) {
  const int64_t hw = g.h * g.w, ohw = g.oh * g.ow, kk = g.kh * g.kw;
  parallel_blocks(n_threads, g.n, [&](int64_t b, int64_t e) {
    for (int64_t n = b; n < e; ++n) {
      T* yn = y + n * g.co * ohw;
      for (int64_t c = 0; c < g.co; ++c) std::fill(yn + c * ohw, yn + (c + 1) * ohw,
                                                   bias ? bias[c] : T(0));
      for (int64_t ci = 0; ci < g.ci; ++ci) {
        const int64_t* rpc = row_ptr + ci * kk;
        if (rpc[0] == rpc[kk]) continue;
        for_each_event<S1>(g, x + (n * g.ci + ci) * hw, rpc,
                           [&](int64_t oh, int64_t ow, int64_t r, T v) {
          T* yo = yn + oh * g.ow + ow;
          const int64_t s1 = rpc[r + 1];
          for (int64_t s = rpc[r]; s < s1; ++s) yo[int64_t(post[s]) * ohw] += v * w[s];
        });
      }
    }
  }, 1);
}

template <bool S1, typename T>
void grad_input_impl(const ConvGeometry& g, const T* gy, const int64_t* row_ptr,
                     const int32_t* post, const T* w, T* gx, int n_threads) {
  const int64_t hw = g.h * g.w, ohw = g.oh * g.ow, kk = g.kh * g.kw;
  parallel_blocks(n_threads, g.n * g.ci, [&](int64_t b, int64_t e) {
    for (int64_t q = b; q < e; ++q) {
      const int64_t n = q / g.ci, ci = q % g.ci;
      T* gxp = gx + q * hw;
      std::fill(gxp, gxp + hw, T(0));
      const T* gyn = gy + n * g.co * ohw;
      const int64_t* rpc = row_ptr + ci * kk;
      for (int64_t kh = 0; kh < g.kh; ++kh) {
        int64_t oh0, oh1;
        out_range(kh, g.sh, g.ph, g.h, g.oh, &oh0, &oh1);
        for (int64_t kw = 0; kw < g.kw; ++kw) {
          int64_t ow0, ow1;
          out_range(kw, g.sw, g.pw, g.w, g.ow, &ow0, &ow1);
          const int64_t len = ow1 - ow0, r = kh * g.kw + kw;
          if (len <= 0 || oh1 <= oh0) continue;
          for (int64_t s = rpc[r]; s < rpc[r + 1]; ++s) {
            const T ws = w[s];
            const T* gyc = gyn + int64_t(post[s]) * ohw;
            for (int64_t oh = oh0; oh < oh1; ++oh) {
              T* __restrict dst = gxp + (oh * g.sh + kh - g.ph) * g.w + (ow0 * g.sw + kw - g.pw);
              const T* __restrict src = gyc + oh * g.ow + ow0;
              if (S1) {
                for (int64_t k = 0; k < len; ++k) dst[k] += ws * src[k];
              } else {
                for (int64_t k = 0; k < len; ++k) dst[k * g.sw] += ws * src[k];
              }
            }
          }
        }
      }
    }
  }, 1);
}

template <bool S1, typename T>
void grad_weight_impl(const ConvGeometry& g, const T* x, const T* gy, const int64_t* row_ptr,
                      const int32_t* post, T* gw, int n_threads) {
  const int64_t hw = g.h * g.w, ohw = g.oh * g.ow, kk = g.kh * g.kw;
  const int64_t nnz = row_ptr[g.ci * kk];
  // threads own blocks of synapses [s0, s1); every gw[s] sums over n, then pixels, ascending
  parallel_blocks(n_threads, nnz, [&](int64_t s0, int64_t s1) {
    std::fill(gw + s0, gw + s1, T(0));
    // input channels whose synapses meet [s0, s1)
    const int64_t* ub = std::upper_bound(row_ptr, row_ptr + g.ci * kk + 1, s0);
    int64_t ci = (int64_t(ub - row_ptr) - 1) / kk;
    for (; ci < g.ci && row_ptr[ci * kk] < s1; ++ci) {
      const int64_t* rpc = row_ptr + ci * kk;
      if (rpc[kk] <= s0) continue;
      for (int64_t n = 0; n < g.n; ++n) {
        const T* gyn = gy + n * g.co * ohw;
        for_each_event<S1>(g, x + (n * g.ci + ci) * hw, rpc,
                           [&](int64_t oh, int64_t ow, int64_t r, T v) {
          const T* go = gyn + oh * g.ow + ow;
          const int64_t a = std::max(rpc[r], s0), z = std::min(rpc[r + 1], s1);
          for (int64_t s = a; s < z; ++s) gw[s] += v * go[int64_t(post[s]) * ohw];
        });
      }
    }
  }, 16);
}

}  // namespace

template <typename T>
void sparse_conv2d_forward(const ConvGeometry& g, const T* x, const int64_t* row_ptr,
                           const int32_t* post, const T* w, const T* bias, T* y, int n_threads) {
  if (g.sh == 1 && g.sw == 1)
    forward_impl<true>(g, x, row_ptr, post, w, bias, y, n_threads);
  else
    forward_impl<false>(g, x, row_ptr, post, w, bias, y, n_threads);
}

template <typename T>
void sparse_conv2d_grad_input(const ConvGeometry& g, const T* gy, const int64_t* row_ptr,
                              const int32_t* post, const T* w, T* gx, int n_threads) {
  if (g.sh == 1 && g.sw == 1)
    grad_input_impl<true>(g, gy, row_ptr, post, w, gx, n_threads);
  else
    grad_input_impl<false>(g, gy, row_ptr, post, w, gx, n_threads);
}

template <typename T>
void sparse_conv2d_grad_weight(const ConvGeometry& g, const T* x, const T* gy,
                               const int64_t* row_ptr, const int32_t* post, T* gw,
                               int n_threads) {
  if (g.sh == 1 && g.sw == 1)
    grad_weight_impl<true>(g, x, gy, row_ptr, post, gw, n_threads);
  else
    grad_weight_impl<false>(g, x, gy, row_ptr, post, gw, n_threads);
}

#define SPIKECORE_INSTANTIATE(T)                                                               \
  template void sparse_conv2d_forward<T>(const ConvGeometry&, const T*, const int64_t*,        \
                                         const int32_t*, const T*, const T*, T*, int);         \
  template void sparse_conv2d_grad_input<T>(const ConvGeometry&, const T*, const int64_t*,     \
                                            const int32_t*, const T*, T*, int);                \
  template void sparse_conv2d_grad_weight<T>(const ConvGeometry&, const T*, const T*,          \
                                             const int64_t*, const int32_t*, T*, int);
SPIKECORE_INSTANTIATE(float)
SPIKECORE_INSTANTIATE(double)
#undef SPIKECORE_INSTANTIATE

}  // namespace spikecore::learn
