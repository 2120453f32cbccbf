// Synapse-sparse 2-D convolution (see spikecore/learn/sparse_conv.hpp).
#include "spikecore/learn/sparse_conv.hpp"

#include <algorithm>
#include <vector>

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

// Per synapse s = (ci, kh, kw -> co), stride 1: the offset of its output from the input pixel,
// y index = ih * OW + iw + off[s] = co * OH OW + (ih + ph - kh) OW + (iw + pw - kw).
inline std::vector<int64_t> stride1_offsets(const ConvGeometry& g, const int64_t* row_ptr,
                                            const int32_t* post) {
  const int64_t kk = g.kh * g.kw, ohw = g.oh * g.ow;
  std::vector<int64_t> off(size_t(row_ptr[g.ci * kk]));
  for (int64_t i = 0; i < g.ci * kk; ++i) {
    const int64_t r = i % kk, kh = r / g.kw, kw = r % g.kw;
    for (int64_t s = row_ptr[i]; s < row_ptr[i + 1]; ++s)
      off[size_t(s)] = int64_t(post[s]) * ohw + (g.ph - kh) * g.ow + (g.pw - kw);
  }
  return off;
}

// For every nonzero pixel v = plane[ih, iw] (ascending): when stride is 1 and every kernel tap
// of the pixel lands inside the output, f_all(ih * OW + iw, v) (the caller walks all synapses of
// the channel with their offsets); else f_tap(oh, ow, r, v) for every tap r = kh * KW + kw that
// reaches output (oh, ow), taps ascending. Either way a pixel meets each synapse at most once.
template <bool S1, typename T, typename FTap, typename FAll>
inline void for_each_event(const ConvGeometry& g, const T* plane, const int64_t* rpc, FTap&& f_tap,
                           FAll&& f_all) {
  // interior: ih + ph - kh in [0, OH) for all kh (likewise w); only used when S1
  const int64_t ih_lo = g.kh - 1 - g.ph, ih_hi = g.oh - g.ph;
  const int64_t iw_lo = g.kw - 1 - g.pw, iw_hi = g.ow - g.pw;
  for (int64_t ih = 0; ih < g.h; ++ih) {
    const T* row = plane + ih * g.w;
    const bool in_h = S1 && ih >= ih_lo && ih < ih_hi;
    for (int64_t iw = 0; iw < g.w; ++iw) {
      const T v = row[iw];
      if (v == T(0)) continue;
      if (in_h && iw >= iw_lo && iw < iw_hi) {
        f_all(ih * g.ow + iw, v);
        continue;
      }
      for (int64_t kh = 0; kh < g.kh; ++kh) {
        const int64_t oh = out_index<S1>(ih, kh, g.sh, g.ph, g.oh);
        if (oh < 0) continue;
        for (int64_t kw = 0; kw < g.kw; ++kw) {
          const int64_t r = kh * g.kw + kw;
          if (rpc[r] == rpc[r + 1]) continue;
          const int64_t ow = out_index<S1>(iw, kw, g.sw, g.pw, g.ow);
          if (ow < 0) continue;
          f_tap(oh, ow, r, v);
        }
      }
    }
  }
}

template <bool S1, typename T>
void forward_impl(const ConvGeometry& g, const T* x, const int64_t* row_ptr, const int32_t* post,
                  const T* w, const T* bias, T* y, int n_threads) {
  const int64_t hw = g.h * g.w, ohw = g.oh * g.ow, kk = g.kh * g.kw;
  const std::vector<int64_t> off = S1 ? stride1_offsets(g, row_ptr, post) : std::vector<int64_t>();
  parallel_blocks(
      n_threads, g.n,
      [&](int64_t b, int64_t e) {
        for (int64_t n = b; n < e; ++n) {
          T* yn = y + n * g.co * ohw;
          for (int64_t c = 0; c < g.co; ++c)
            std::fill(yn + c * ohw, yn + (c + 1) * ohw, bias ? bias[c] : T(0));
          for (int64_t ci = 0; ci < g.ci; ++ci) {
            const int64_t* rpc = row_ptr + ci * kk;
            const int64_t sa = rpc[0], sz = rpc[kk];
            if (sa == sz) continue;
            for_each_event<S1>(
                g, x + (n * g.ci + ci) * hw, rpc,
                [&](int64_t oh, int64_t ow, int64_t r, T v) {
                  T* yo = yn + oh * g.ow + ow;
                  const int64_t s1 = rpc[r + 1];
                  for (int64_t s = rpc[r]; s < s1; ++s) yo[int64_t(post[s]) * ohw] += v * w[s];
                },
                [&](int64_t base, T v) {
                  T* yb = yn + base;
                  const int64_t* o = off.data();
                  for (int64_t s = sa; s < sz; ++s) yb[o[s]] += v * w[s];
                });
          }
        }
      },
      1);
}

// Grad input in a batch-inner layout: blocks of NB images are transposed to [C][H][W][NB], so
// every (synapse, output row) is one contiguous axpy of (output width) x NB values.
constexpr int64_t NB = 16;

// dst[k * NB + q] = src[q * stride + k] for k < len, q < nb, in tiles of 16 k (the nb source
// rows lie `stride` apart, often a multiple of 4 KiB: one cache line of each per tile).
template <typename T>
void to_batch_inner(const T* src, int64_t len, int64_t stride, int64_t nb, T* dst) {
  for (int64_t k0 = 0; k0 < len; k0 += 16) {
    const int64_t k1 = std::min(len, k0 + 16);
    for (int64_t q = 0; q < nb; ++q) {
      const T* sq = src + q * stride;
      for (int64_t k = k0; k < k1; ++k) dst[k * NB + q] = sq[k];
    }
  }
}

template <typename T>
void from_batch_inner(const T* src, int64_t m, int64_t nb, T* dst) {
  for (int64_t k0 = 0; k0 < m; k0 += 16) {
    const int64_t k1 = std::min(m, k0 + 16);
    for (int64_t q = 0; q < nb; ++q) {
      T* dq = dst + q * m;
      for (int64_t k = k0; k < k1; ++k) dq[k] = src[k * NB + q];
    }
  }
}

// A [C, H, W] plane stack stored batch-inner with a zero border: [C][H + 2 ph][W + 2 pw][NB].
struct Padded {
  int64_t c, h, w, ph, pw;
  int64_t hp() const { return h + 2 * ph; }
  int64_t wp() const { return w + 2 * pw; }
  int64_t size() const { return c * hp() * wp(); }  // in units of NB values
};

// The images [nb, C, H, W] at src into the interior of the padded batch-inner dst (its border
// and the lanes q >= nb must already be zero).
template <typename T>
void to_padded(const T* src, const Padded& p, int64_t nb, T* dst) {
  const int64_t m = p.c * p.h * p.w;
  if (p.ph == 0 && p.pw == 0) return to_batch_inner(src, m, m, nb, dst);
  for (int64_t c = 0; c < p.c; ++c)
    for (int64_t i = 0; i < p.h; ++i)
      to_batch_inner(src + (c * p.h + i) * p.w, p.w, m, nb,
                     dst + ((c * p.hp() + i + p.ph) * p.wp() + p.pw) * NB);
}

// For every synapse s of input channel ci (taps, then s, ascending) and every output row oh
// (ascending) whose tap row lies inside the input: f(s, oh, in, out, len), where the tap maps
// outputs (oh, ow0 + k), k < len, to inputs at plane offsets in + k * sw, out = oh * OW + ow0.
template <typename F>
inline void for_each_synapse_row(const ConvGeometry& g, const int64_t* rpc, F&& f) {
  for (int64_t kh = 0; kh < g.kh; ++kh) {
    int64_t oh0, oh1;
    out_range(kh, g.sh, g.ph, g.h, g.oh, &oh0, &oh1);
    for (int64_t kw = 0; kw < g.kw; ++kw) {
      int64_t ow0, ow1;
      out_range(kw, g.sw, g.pw, g.w, g.ow, &ow0, &ow1);
      const int64_t len = ow1 - ow0, r = kh * g.kw + kw;
      if (len <= 0 || oh1 <= oh0) continue;
      for (int64_t s = rpc[r]; s < rpc[r + 1]; ++s)
        for (int64_t oh = oh0; oh < oh1; ++oh)
          f(s, oh, (oh * g.sh + kh - g.ph) * g.w + (ow0 * g.sw + kw - g.pw), oh * g.ow + ow0, len);
    }
  }
}

// Runs body(blk, n0, nb, a, b) for every block of NB images on the thread team, blocks owned
// whole by one thread; a holds the block of `in` ([N, C, H, W]) batch-inner with the zero
// border of `p`, b is scratch of b_size x NB values (both per thread, reused across its blocks).
template <typename T, typename Body>
void for_each_block(const ConvGeometry& g, const T* in, const Padded& p, int64_t b_size,
                    int n_threads, Body&& body) {
  const int64_t n_blocks = (g.n + NB - 1) / NB, in_size = p.c * p.h * p.w;
  // parallel_blocks cuts at multiples of 16 units: 16 units per block keeps every block whole
  // and lets each block be its own chunk
  parallel_blocks(
      n_threads, n_blocks * 16,
      [&](int64_t b, int64_t e) {
        std::vector<T> xb(size_t(p.size() * NB)), scratch(size_t(b_size * NB));
        for (int64_t blk = b / 16; blk < e / 16; ++blk) {
          const int64_t n0 = blk * NB, nb = std::min(NB, g.n - n0);
          if (nb < NB) std::fill(xb.begin(), xb.end(), T(0));
          to_padded(in + n0 * in_size, p, nb, xb.data());
          body(blk, n0, nb, xb.data(), scratch.data());
        }
      },
      16);
}

// Output-stationary accumulation of R adjacent outputs (NB lanes each) held in registers:
// acc[r] = init + sum_{k in [a, z)} wv[k] * base[off[k] * NB + r * step], k ascending (init:
// NB lanes, the same for every r; null for zero).
template <int R, typename T>
inline void accumulate_outputs(T* out, const T* init, const T* base, const int64_t* off,
                               const T* wv, int64_t a, int64_t z, int64_t step) {
  T acc[R][NB];
  for (int r = 0; r < R; ++r)
    for (int64_t q = 0; q < NB; ++q) acc[r][q] = init ? init[q] : T(0);
  for (int64_t k = a; k < z; ++k) {
    const T wk = wv[k];
    const T* __restrict src = base + off[k] * NB;
    for (int r = 0; r < R; ++r)
      for (int64_t q = 0; q < NB; ++q) acc[r][q] += wk * src[r * step + q];
  }
  for (int r = 0; r < R; ++r)
    for (int64_t q = 0; q < NB; ++q) out[r * NB + q] = acc[r][q];
}

// One output row of `len` positions: blocks of 8, then single positions.
template <typename T>
inline void accumulate_row(T* out, const T* init, const T* base, const int64_t* off, const T* wv,
                           int64_t a, int64_t z, int64_t step, int64_t len) {
  int64_t o = 0;
  for (; o + 8 <= len; o += 8)
    accumulate_outputs<8>(out + o * NB, init, base + o * step, off, wv, a, z, step);
  for (; o < len; ++o)
    accumulate_outputs<1>(out + o * NB, init, base + o * step, off, wv, a, z, step);
}

// Forward in the batch-inner layout, output-stationary: the synapses are regrouped by output
// channel (pre ascending within each, the order of the event-driven path), the input gets a
// zero border of the padding, and each run of 8 outputs x NB images sums all synapses of its
// channel in registers.
template <typename T>
void forward_blocked(const ConvGeometry& g, const T* x, const int64_t* row_ptr, const int32_t* post,
                     const T* w, const T* bias, T* y, int n_threads) {
  const int64_t ohw = g.oh * g.ow, kk = g.kh * g.kw, m_out = g.co * ohw;
  const Padded p{g.ci, g.h, g.w, g.ph, g.pw};
  const int64_t nnz = row_ptr[g.ci * kk];
  // by output channel: col_ptr [co + 1], per entry its tap's offset in the padded input
  std::vector<int64_t> col_ptr(static_cast<size_t>(g.co + 1), 0), off(static_cast<size_t>(nnz));
  std::vector<T> wv(static_cast<size_t>(nnz));
  for (int64_t s = 0; s < nnz; ++s) ++col_ptr[size_t(post[s]) + 1];
  for (int64_t c = 0; c < g.co; ++c) col_ptr[size_t(c + 1)] += col_ptr[size_t(c)];
  {
    std::vector<int64_t> fill(col_ptr.begin(), col_ptr.end() - 1);
    for (int64_t i = 0; i < g.ci * kk; ++i) {
      const int64_t ci = i / kk, kh = (i % kk) / g.kw, kw = i % g.kw;
      for (int64_t s = row_ptr[i]; s < row_ptr[i + 1]; ++s) {
        const int64_t k = fill[size_t(post[s])]++;
        off[size_t(k)] = (ci * p.hp() + kh) * p.wp() + kw;
        wv[size_t(k)] = w[s];
      }
    }
  }
  for_each_block(g, x, p, m_out, n_threads,
                 [&](int64_t, int64_t n0, int64_t nb, const T* xb, T* yb) {
                   for (int64_t c = 0; c < g.co; ++c) {
                     T b0[NB];
                     for (int64_t q = 0; q < NB; ++q) b0[q] = bias ? bias[c] : T(0);
                     for (int64_t oh = 0; oh < g.oh; ++oh) {
                       T* out = yb + (c * ohw + oh * g.ow) * NB;
                       const T* base = xb + oh * g.sh * p.wp() * NB;
                       accumulate_row(out, b0, base, off.data(), wv.data(), col_ptr[size_t(c)],
                                      col_ptr[size_t(c + 1)], g.sw * NB, g.ow);
                     }
                   }
                   from_batch_inner(yb, m_out, nb, y + n0 * m_out);
                 });
}

// Backward in the batch-inner layout, sharing one transpose of gy. With gx, grad input: for
// stride 1 output-stationary (gy gets a zero border so every tap of every input pixel reads
// inside it; each run of 8 input pixels x NB images sums the synapses of its channel, s
// ascending, in registers), else one axpy of OW x NB values per (synapse, output row), s
// ascending. With gw, grad weight: per block gw_blk[s] = sum_q (sum over output pixels,
// ascending, of x gy for image n0 + q), then gw[s] = sum over blocks, ascending (blocks are set
// by N, not by the thread count).
template <typename T>
void backward_blocked(const ConvGeometry& g, const T* x, const T* gy, const int64_t* row_ptr,
                      const int32_t* post, const T* w, T* gx, T* gw, int n_threads) {
  const int64_t hw = g.h * g.w, kk = g.kh * g.kw;
  const int64_t m_in = g.ci * hw, sw = g.sw;
  const int64_t nnz = row_ptr[g.ci * kk], n_blocks = (g.n + NB - 1) / NB;
  const bool s1 = g.sh == 1 && g.sw == 1;
  const Padded p{g.co, g.oh, g.ow, s1 ? std::max<int64_t>(0, g.kh - 1 - g.ph) : 0,
                 s1 ? std::max<int64_t>(0, g.kw - 1 - g.pw) : 0};
  const int64_t ohp = p.hp(), owp = p.wp();
  std::vector<int64_t> off;  // stride 1, grad input: per synapse its gy offset from the pixel
  if (gx && s1) {
    off.resize(size_t(nnz));
    for (int64_t i = 0; i < g.ci * kk; ++i) {
      const int64_t kh = (i % kk) / g.kw, kw = i % g.kw;
      for (int64_t s = row_ptr[i]; s < row_ptr[i + 1]; ++s)
        off[size_t(s)] = (int64_t(post[s]) * ohp + p.ph + g.ph - kh) * owp + p.pw + g.pw - kw;
    }
  }
  std::vector<T> part(gw ? size_t(n_blocks * nnz) : 0);
  const int64_t scratch = (gx ? m_in : 0) + (gw ? m_in : 0);
  for_each_block(
      g, gy, p, scratch, n_threads, [&](int64_t blk, int64_t n0, int64_t nb, const T* gyb, T* buf) {
        T* gxb = gx ? buf : nullptr;
        T* xb = gw ? buf + (gx ? m_in * NB : 0) : nullptr;
        if (xb) {
          if (nb < NB) std::fill(xb, xb + m_in * NB, T(0));
          to_batch_inner(x + n0 * m_in, m_in, m_in, nb, xb);
        }
        if (gxb && s1) {
          for (int64_t ci = 0; ci < g.ci; ++ci)
            for (int64_t ih = 0; ih < g.h; ++ih)
              accumulate_row(gxb + (ci * hw + ih * g.w) * NB, static_cast<const T*>(nullptr),
                             gyb + ih * owp * NB, off.data(), w, row_ptr[ci * kk],
                             row_ptr[(ci + 1) * kk], NB, g.w);
        } else if (gxb) {
          std::fill(gxb, gxb + m_in * NB, T(0));
        }
        T* pb = gw ? part.data() + blk * nnz : nullptr;
        const bool axpy = gxb && !s1;
        for (int64_t ci = 0; ci < g.ci && (axpy || xb); ++ci) {
          T* gxc = gxb ? gxb + ci * hw * NB : nullptr;
          const T* xc = xb ? xb + ci * hw * NB : nullptr;
          // 4 accumulators in turn over the output positions (independent add chains)
          T acc[4][NB];
          int64_t cur = -1;
          auto flush = [&] {
            if (cur < 0) return;
            T sum = T(0);
            for (int64_t q = 0; q < NB; ++q)
              sum += (acc[0][q] + acc[1][q]) + (acc[2][q] + acc[3][q]);
            pb[cur] = sum;
          };
          for_each_synapse_row(
              g, row_ptr + ci * kk,
              [&](int64_t s, int64_t oh, int64_t in, int64_t out, int64_t len) {
                const int64_t ow0 = out - oh * g.ow;
                const T* __restrict src =
                    gyb + ((int64_t(post[s]) * ohp + oh + p.ph) * owp + ow0 + p.pw) * NB;
                if (axpy) {
                  const T ws = w[s];
                  T* __restrict dst = gxc + in * NB;
                  for (int64_t k = 0; k < len; ++k)
                    for (int64_t q = 0; q < NB; ++q) dst[k * sw * NB + q] += ws * src[k * NB + q];
                }
                if (xc) {
                  if (s != cur) {
                    flush();
                    cur = s;
                    for (auto& a : acc)
                      for (int64_t q = 0; q < NB; ++q) a[q] = T(0);
                  }
                  const T* __restrict a = xc + in * NB;
                  int64_t k = 0;
                  for (; k + 4 <= len; k += 4)
                    for (int j = 0; j < 4; ++j)
                      for (int64_t q = 0; q < NB; ++q)
                        acc[j][q] += a[(k + j) * sw * NB + q] * src[(k + j) * NB + q];
                  for (; k < len; ++k)
                    for (int64_t q = 0; q < NB; ++q)
                      acc[0][q] += a[k * sw * NB + q] * src[k * NB + q];
                }
              });
          if (xc) flush();
        }
        if (gxb) from_batch_inner(gxb, m_in, nb, gx + n0 * m_in);
      });
  if (!gw) return;
  std::fill(gw, gw + nnz, T(0));
  for (int64_t blk = 0; blk < n_blocks; ++blk) {
    const T* pb = part.data() + blk * nnz;
    for (int64_t s = 0; s < nnz; ++s) gw[s] += pb[s];
  }
}

// Fraction of nonzero entries of x (decides event-driven vs batch-inner).
template <typename T>
double nonzero_fraction(const T* x, int64_t n) {
  int64_t c = 0;
  for (int64_t k = 0; k < n; ++k) c += x[k] != T(0);
  return n > 0 ? double(c) / double(n) : 0.0;
}

template <bool S1, typename T>
void grad_weight_impl(const ConvGeometry& g, const T* x, const T* gy, const int64_t* row_ptr,
                      const int32_t* post, T* gw, int n_threads) {
  const int64_t hw = g.h * g.w, ohw = g.oh * g.ow, kk = g.kh * g.kw;
  const int64_t nnz = row_ptr[g.ci * kk];
  const std::vector<int64_t> off = S1 ? stride1_offsets(g, row_ptr, post) : std::vector<int64_t>();
  // threads own blocks of synapses [s0, s1); every gw[s] sums over n, then pixels, ascending
  parallel_blocks(
      n_threads, nnz,
      [&](int64_t s0, int64_t s1) {
        std::fill(gw + s0, gw + s1, T(0));
        // input channels whose synapses meet [s0, s1)
        const int64_t* ub = std::upper_bound(row_ptr, row_ptr + g.ci * kk + 1, s0);
        int64_t ci = (int64_t(ub - row_ptr) - 1) / kk;
        for (; ci < g.ci && row_ptr[ci * kk] < s1; ++ci) {
          const int64_t* rpc = row_ptr + ci * kk;
          if (rpc[kk] <= s0) continue;
          const int64_t sa = std::max(rpc[0], s0), sz = std::min(rpc[kk], s1);
          for (int64_t n = 0; n < g.n; ++n) {
            const T* gyn = gy + n * g.co * ohw;
            for_each_event<S1>(
                g, x + (n * g.ci + ci) * hw, rpc,
                [&](int64_t oh, int64_t ow, int64_t r, T v) {
                  const T* go = gyn + oh * g.ow + ow;
                  const int64_t a = std::max(rpc[r], s0), z = std::min(rpc[r + 1], s1);
                  for (int64_t s = a; s < z; ++s) gw[s] += v * go[int64_t(post[s]) * ohw];
                },
                [&](int64_t base, T v) {
                  const T* gb = gyn + base;
                  const int64_t* o = off.data();
                  for (int64_t s = sa; s < sz; ++s) gw[s] += v * gb[o[s]];
                });
          }
        }
      },
      16);
}

template <typename T>
bool use_events(const ConvGeometry& g, const T* x, int algorithm) {
  if (algorithm == 1) return true;
  if (algorithm == 2) return false;
  return nonzero_fraction(x, g.n * g.ci * g.h * g.w) <= kEventMaxFraction;
}

}  // namespace

template <typename T>
void sparse_conv2d_forward(const ConvGeometry& g, const T* x, const int64_t* row_ptr,
                           const int32_t* post, const T* w, const T* bias, T* y, int n_threads,
                           int algorithm) {
  if (!use_events(g, x, algorithm))
    forward_blocked(g, x, row_ptr, post, w, bias, y, n_threads);
  else if (g.sh == 1 && g.sw == 1)
    forward_impl<true>(g, x, row_ptr, post, w, bias, y, n_threads);
  else
    forward_impl<false>(g, x, row_ptr, post, w, bias, y, n_threads);
}

template <typename T>
void sparse_conv2d_grad_input(const ConvGeometry& g, const T* gy, const int64_t* row_ptr,
                              const int32_t* post, const T* w, T* gx, int n_threads) {
  backward_blocked<T>(g, nullptr, gy, row_ptr, post, w, gx, nullptr, n_threads);
}

template <typename T>
void sparse_conv2d_grad_weight(const ConvGeometry& g, const T* x, const T* gy,
                               const int64_t* row_ptr, const int32_t* post, T* gw, int n_threads,
                               int algorithm) {
  if (!use_events(g, x, algorithm))
    backward_blocked<T>(g, x, gy, row_ptr, post, nullptr, nullptr, gw, n_threads);
  else if (g.sh == 1 && g.sw == 1)
    grad_weight_impl<true>(g, x, gy, row_ptr, post, gw, n_threads);
  else
    grad_weight_impl<false>(g, x, gy, row_ptr, post, gw, n_threads);
}

template <typename T>
void sparse_conv2d_backward(const ConvGeometry& g, const T* x, const T* gy, const int64_t* row_ptr,
                            const int32_t* post, const T* w, T* gx, T* gw, int n_threads,
                            int algorithm) {
  if (gw && (!gx || use_events(g, x, algorithm))) {
    sparse_conv2d_grad_weight(g, x, gy, row_ptr, post, gw, n_threads, gx ? 1 : algorithm);
    gw = nullptr;
  }
  if (gx || gw) backward_blocked<T>(g, x, gy, row_ptr, post, w, gx, gw, n_threads);
}

#define SPIKECORE_INSTANTIATE(T)                                                                   \
  template void sparse_conv2d_forward<T>(const ConvGeometry&, const T*, const int64_t*,            \
                                         const int32_t*, const T*, const T*, T*, int, int);        \
  template void sparse_conv2d_grad_input<T>(const ConvGeometry&, const T*, const int64_t*,         \
                                            const int32_t*, const T*, T*, int);                    \
  template void sparse_conv2d_grad_weight<T>(const ConvGeometry&, const T*, const T*,              \
                                             const int64_t*, const int32_t*, T*, int, int);        \
  template void sparse_conv2d_backward<T>(const ConvGeometry&, const T*, const T*, const int64_t*, \
                                          const int32_t*, const T*, T*, T*, int, int);
SPIKECORE_INSTANTIATE(float)
SPIKECORE_INSTANTIATE(double)
#undef SPIKECORE_INSTANTIATE

}  // namespace spikecore::learn
