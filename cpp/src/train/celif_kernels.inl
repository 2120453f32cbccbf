// Fused CE-LIF kernels (see train/celif_kernels.hpp), included by celif_kernels.cpp (float)
// and celif_kernels_f64.cpp (double), which compile in parallel. Threads own fixed neuron
// blocks and run the whole time loop on them, so results do not depend on the thread count.
// Each block is cut into segments that stay inside one input row and fit in cache: the
// forward keeps the state of a segment in L1; the backward recomputes the segment's forward
// trajectory into a per-thread buffer (no [T, N] trace is saved or read back from memory) and
// then runs the adjoint recursion over it. Every inner loop is over contiguous neurons,
// branch-free.
#pragma once
#include "spikecore/train/celif_kernels.hpp"

#include <algorithm>
#include <type_traits>
#include <vector>

#include "spikecore/neurons/celif.hpp"
#include "spikecore/train/kernels.hpp"

namespace spikecore::train {

namespace {

template <SurrogateKind K, bool Smooth, typename T>
inline T spike_value(T y, T alpha) {
  if constexpr (Smooth) return sg_cdf<K>(y, alpha);
  else return heaviside(y);
}

// Per-neuron parameter p[i] (PN) or a broadcast scalar p[0].
template <bool PN, typename T>
inline T par(const T* __restrict__ p, int64_t i) {
  if constexpr (PN) return p[i];
  else return p[0];
}

// Calls f(i0, i1, j0) for consecutive segments [i0, i1) of [n0, n1) of at most max_len neurons
// that do not cross a row of `cols` neurons (the bias is indexed by column); j0: i0's column.
template <typename F>
inline void for_segments(int64_t cols, int64_t n0, int64_t n1, int64_t max_len, F&& f) {
  for (int64_t i = n0; i < n1;) {
    const int64_t r = i / cols, j = i - r * cols;
    const int64_t e = std::min({n1, i + max_len, (r + 1) * cols});
    f(i, e, j);
    i = e;
  }
}

inline int64_t row_len(int64_t cols, int64_t n) { return cols > 0 ? cols : n; }

// Software prefetch of len values at p (the next step's slice of a [T, ...] array: the
// hardware prefetchers do not follow short slices far apart).
template <typename T>
inline void prefetch(const T* p, int64_t len, bool write = false) {
  constexpr int64_t line = 64 / int64_t(sizeof(T));
  for (int64_t k = 0; k < len; k += line) {
    if (write) __builtin_prefetch(p + k, 1, 3);
    else __builtin_prefetch(p + k, 0, 3);
  }
}

template <typename T>
struct Pars {
  T rho, omr, ba, g, vth, al;
  explicit Pars(const CELIFArgs<T>& a)
      : rho(a.rho), omr(a.one_m_rho), ba(a.beta_a), g(a.gamma), vth(a.v_th), al(a.alpha) {}
};

// One forward step of neurons i0 + [0, len): state (v, ad, cc) indexed from 0; writes spikes
// to zt or, when Trace, h and x = h - theta (and c, v when TraceC, TraceV) to the trace rows.
template <typename T, SurrogateKind K, bool Noise, bool Smooth, bool PN, bool Bias, bool Trace,
          bool TraceC = false, bool TraceV = false>
inline void fwd_step(const CELIFArgs<T>& a, const Pars<T>& p, int64_t i0, int64_t len,
                     const T* __restrict__ It, const T* __restrict__ qt,
                     const T* __restrict__ bj, const T* __restrict__ et, T* __restrict__ v,
                     T* __restrict__ ad, T* __restrict__ cc, T* __restrict__ zt,
                     T* __restrict__ Ht, T* __restrict__ Xt, T* __restrict__ Ct,
                     T* __restrict__ Vt) {
  const T* __restrict__ beta = a.beta + (PN ? i0 : 0);
  const T* __restrict__ lam = a.lam + (PN ? i0 : 0);
  const T* __restrict__ oml = a.one_m_lam + (PN ? i0 : 0);
#pragma GCC ivdep
  for (int64_t k = 0; k < len; ++k) {
    T x;
    T Iv = It[k];
    if constexpr (Bias) Iv = Iv + bj[k];
    const T aa = ad[k];
    T vv = v[k], cv = cc[k];
    const T hh = celif_pre<T>(vv, aa, cv, Iv, qt[k], par<PN>(beta, k), par<PN>(lam, k),
                              par<PN>(oml, k), p.ba, p.g, p.vth, x);
    T y = x;
    if constexpr (Noise) y = y + et[k];
    const T zz = spike_value<K, Smooth>(y, p.al);
    T an = aa;
    celif_post<T>(vv, an, hh, zz, p.rho, p.omr);
    v[k] = vv;
    ad[k] = an;
    cc[k] = cv;
    if constexpr (Trace) {
      Ht[k] = hh;
      Xt[k] = x;
      if constexpr (TraceC) Ct[k] = cv;
      if constexpr (TraceV) Vt[k] = vv;
    } else {
      zt[k] = zz;
    }
  }
}

template <typename T, SurrogateKind K, bool Noise, bool Smooth, bool PN, bool Bias>
void fwd_block(const CELIFArgs<T>& a, const T* I, const T* q, const T* v0, const T* a0,
               const T* c0, T* z, T* v, T* ad, T* cc, int64_t n0, int64_t n1) {
  const Pars<T> p(a);
  const int64_t N = a.n;
  for (int64_t i = n0; i < n1; ++i) {
    v[i] = v0[i];
    ad[i] = a0[i];
    cc[i] = c0[i];
  }
  for_segments(row_len(a.cols, N), n0, n1, 1024, [&](int64_t i0, int64_t i1, int64_t j0) {
    const int64_t len = i1 - i0;
    for (int64_t t = 0; t < a.steps; ++t) {
      const int64_t o = t * N + i0;
      if (t + 1 < a.steps) {
        prefetch(I + o + N, len);
        prefetch(q + o + N, len);
      }
      fwd_step<T, K, Noise, Smooth, PN, Bias, false>(
          a, p, i0, len, I + o, q + o, Bias ? a.bias + j0 : nullptr,
          Noise ? a.eps + t * N + i0 : nullptr, v + i0, ad + i0, cc + i0, z + t * N + i0,
          nullptr, nullptr, nullptr, nullptr);
    }
  });
}

enum class Mode { Separate, Shared, Bias };
// Parameter gradients computed in backward: none, lambda_c only (glam, gomlam), or all.
enum class Grads { None, Lam, All };

// One backward step over the segment i0 + [0, len). Ht, Xt: the recomputed trace rows of step
// t; Cp, Vp: c_{t-1} and v_{t-1} (the trace rows of step t - 1, or c0 and v0 at t = 0).
template <typename T, SurrogateKind K, bool Noise, bool Smooth, bool Detach, Mode M, Grads G>
inline void bwd_step(const CELIFArgs<T>& a, const Pars<T>& p, int64_t i0, int64_t len,
                     const T* __restrict__ qt, const T* __restrict__ Ht,
                     const T* __restrict__ Xt, const T* __restrict__ Cp,
                     const T* __restrict__ Vp, const T* __restrict__ et,
                     const T* __restrict__ gzt, T* __restrict__ gIt, T* __restrict__ gqt,
                     T* __restrict__ gv, T* __restrict__ ga, T* __restrict__ gc,
                     T* __restrict__ gb, T* __restrict__ gl, T* __restrict__ gol,
                     T* __restrict__ gd) {
  const T* __restrict__ beta = a.beta + i0;
  const T* __restrict__ lam = a.lam + i0;
  const T* __restrict__ oml = a.one_m_lam + i0;
#pragma GCC ivdep
  for (int64_t k = 0; k < len; ++k) {
    const T hh = Ht[k];
    const T xx = Xt[k];
    T y = xx;
    if constexpr (Noise) y = y + et[k];
    const T zz = spike_value<K, Smooth>(y, p.al);
    const T s = sg_grad<K>(Smooth ? y : xx, p.al);
    const T gvv = gv[k];
    T gzz = gzt[k] + p.omr * ga[k];
    if constexpr (!Detach) gzz = gzz - gvv * hh;
    const T gzs = gzz * s;
    const T gh = gzs + gvv * (T(1) - zz);
    if constexpr (G == Grads::All) gb[k] += gh * Vp[k];
    gv[k] = gh * beta[k];
    ga[k] = ga[k] * p.rho - gzs * p.ba;
    const T gct = gc[k] - gzs * p.g;
    const T gqq = gct * oml[k];
    if constexpr (M == Mode::Shared) {
      gIt[k] = gh + gqq;
    } else {
      gIt[k] = gh;
      gqt[k] = gqq;
    }
    if constexpr (M == Mode::Bias) gd[k] += gh;
    if constexpr (G != Grads::None) {
      gl[k] += gct * Cp[k];
      gol[k] += gct * qt[k];
    }
    gc[k] = gct * lam[k];
  }
}

// Segment length for backward: the trace (arrays of steps x len values) within ~256 KiB (L2).
template <typename T>
int64_t bwd_segment_len(int64_t steps, int64_t arrays) {
  const int64_t len =
      int64_t(256 * 1024) / (arrays * int64_t(sizeof(T)) * std::max<int64_t>(steps, 1));
  return std::clamp<int64_t>(len / 16 * 16, 16, 1024);
}

// Backward of neurons [n0, n1); the decays are per-neuron arrays here.
template <typename T, SurrogateKind K, bool Noise, bool Smooth, bool Detach, Mode M, Grads G>
void bwd_block(const CELIFArgs<T>& a, const T* I, const T* q, const T* v0, const T* a0,
               const T* c0, const T* gz, const T* gvT, const T* gaT, const T* gcT, T* gI,
               T* gq, T* gv, T* ga, T* gc, T* gb, T* gl, T* gol, T* gd, int64_t n0,
               int64_t n1) {
  constexpr bool Bias = M == Mode::Bias;
  constexpr bool TC = G != Grads::None, TV = G == Grads::All;  // trace c, v too
  const Pars<T> p(a);
  const int64_t N = a.n, steps = a.steps;
  for (int64_t i = n0; i < n1; ++i) {
    gv[i] = gvT ? gvT[i] : T(0);
    ga[i] = gaT ? gaT[i] : T(0);
    gc[i] = gcT ? gcT[i] : T(0);
    if constexpr (G == Grads::All) gb[i] = T(0);
    if constexpr (TC) {
      gl[i] = T(0);
      gol[i] = T(0);
    }
    if constexpr (Bias) gd[i] = T(0);
  }
  const int64_t max_len = bwd_segment_len<T>(steps, 2 + TC + TV);
  thread_local std::vector<T> buf;
  buf.resize(size_t((4 * steps + 3) * max_len));
  for_segments(row_len(a.cols, N), n0, n1, max_len, [&](int64_t i0, int64_t i1,
                                                             int64_t j0) {
    const int64_t len = i1 - i0;
    // trace rows of stride len: H, X, C, V [steps][len]; then the running state v, a, c
    T* H = buf.data();
    T* X = H + steps * len;
    T* C = X + steps * len;
    T* V = C + steps * len;
    T* sv = V + steps * len;
    T* sa = sv + len;
    T* sc = sa + len;
    std::copy(v0 + i0, v0 + i1, sv);
    std::copy(a0 + i0, a0 + i1, sa);
    std::copy(c0 + i0, c0 + i1, sc);
    const T* bj = Bias ? a.bias + j0 : nullptr;
    for (int64_t t = 0; t < steps; ++t) {
      const int64_t o = t * N + i0, r = t * len;
      if (t + 1 < steps) {
        prefetch(I + o + N, len);
        prefetch(q + o + N, len);
      }
      fwd_step<T, K, Noise, Smooth, true, Bias, true, TC, TV>(
          a, p, i0, len, I + o, q + o, bj, Noise ? a.eps + t * N + i0 : nullptr, sv, sa, sc,
          nullptr, H + r, X + r, C + r, V + r);
    }
    for (int64_t t = steps - 1; t >= 0; --t) {
      const int64_t o = t * N + i0, r = t * len, rp = (t - 1) * len;
      const T* et = Noise ? a.eps + t * N + i0 : nullptr;
      T* gqt = M == Mode::Shared ? nullptr : gq + o;
      T* gdi = Bias ? gd + i0 : nullptr;
      if (t > 0) {
        prefetch(gz + (t - 1) * N + i0, len);
        prefetch(q + o - N, len);
        prefetch(gI + o - N, len, true);
        if (M != Mode::Shared) prefetch(gq + o - N, len, true);
      }
      const T* Cp = t > 0 ? C + rp : c0 + i0;
      const T* Vp = t > 0 ? V + rp : v0 + i0;
      bwd_step<T, K, Noise, Smooth, Detach, M, G>(a, p, i0, len, q + o, H + r, X + r, Cp, Vp,
                                                  et, gz + t * N + i0, gI + o, gqt, gv + i0,
                                                  ga + i0, gc + i0, gb + i0, gl + i0, gol + i0,
                                                  gdi);
    }
  });
}

template <typename F>
inline void dispatch_bool(bool b, F&& f) {
  if (b) f(std::true_type{});
  else f(std::false_type{});
}

template <typename F>
inline void dispatch_mode(Mode m, F&& f) {
  switch (m) {
    case Mode::Shared: f(std::integral_constant<Mode, Mode::Shared>{}); break;
    case Mode::Bias: f(std::integral_constant<Mode, Mode::Bias>{}); break;
    default: f(std::integral_constant<Mode, Mode::Separate>{}); break;
  }
}

template <typename F>
inline void dispatch_grads(Grads g, F&& f) {
  switch (g) {
    case Grads::None: f(std::integral_constant<Grads, Grads::None>{}); break;
    case Grads::Lam: f(std::integral_constant<Grads, Grads::Lam>{}); break;
    default: f(std::integral_constant<Grads, Grads::All>{}); break;
  }
}

inline int64_t grain(int64_t steps) { return 4096 / (steps > 0 ? steps : 1) + 16; }

}  // namespace

template <typename T>
void celif_forward(const CELIFArgs<T>& a, const T* I, const T* q, const T* v0, const T* a0,
                   const T* c0, T* z, T* vT, T* aT, T* cT) {
  dispatch_surrogate(a.kind, [&](auto K) {
    dispatch_bool(a.eps != nullptr, [&](auto E) {
      dispatch_bool(a.smooth, [&](auto M) {
        dispatch_bool(a.beta_stride != 0, [&](auto P) {
          dispatch_bool(a.bias != nullptr, [&](auto B) {
            parallel_blocks(a.n_threads, a.n, [&](int64_t n0, int64_t n1) {
              fwd_block<T, decltype(K)::value, decltype(E)::value, decltype(M)::value,
                        decltype(P)::value, decltype(B)::value>(a, I, q, v0, a0, c0, z, vT, aT,
                                                                cT, n0, n1);
            }, grain(a.steps));
          });
        });
      });
    });
  });
}

template <typename T>
void celif_backward(const CELIFArgs<T>& a0_, const T* I, const T* q, const T* v0, const T* a0,
                    const T* c0, const T* gz, const T* gvT, const T* gaT, const T* gcT, T* gI,
                    T* gq, T* gv0, T* ga0, T* gc0, T* gbeta, T* glam, T* gomlam, T* gbias) {
  CELIFArgs<T> a = a0_;
  // broadcast decays as per-neuron arrays (one backward variant fewer)
  std::vector<T> pn;
  if (a.beta_stride == 0) {
    pn.resize(size_t(3 * a.n));
    std::fill(pn.begin(), pn.begin() + a.n, a.beta[0]);
    std::fill(pn.begin() + a.n, pn.begin() + 2 * a.n, a.lam[0]);
    std::fill(pn.begin() + 2 * a.n, pn.end(), a.one_m_lam[0]);
    a.beta = pn.data();
    a.lam = pn.data() + a.n;
    a.one_m_lam = pn.data() + 2 * a.n;
    a.beta_stride = a.lam_stride = 1;
  }
  const Mode mode = a.shared ? Mode::Shared : a.bias != nullptr ? Mode::Bias : Mode::Separate;
  const Grads grads = gbeta != nullptr ? Grads::All
                      : (glam != nullptr || gomlam != nullptr) ? Grads::Lam : Grads::None;
  dispatch_surrogate(a.kind, [&](auto K) {
    dispatch_bool(a.eps != nullptr, [&](auto E) {
      dispatch_bool(a.smooth, [&](auto M) {
        dispatch_bool(a.detach_reset, [&](auto D) {
          dispatch_mode(mode, [&](auto S) {
            dispatch_grads(grads, [&](auto G) {
              parallel_blocks(a.n_threads, a.n, [&](int64_t n0, int64_t n1) {
                bwd_block<T, decltype(K)::value, decltype(E)::value, decltype(M)::value,
                          decltype(D)::value, decltype(S)::value, decltype(G)::value>(
                    a, I, q, v0, a0, c0, gz, gvT, gaT, gcT, gI, gq, gv0, ga0, gc0, gbeta, glam,
                    gomlam, gbias, n0, n1);
              }, grain(a.steps));
            });
          });
        });
      });
    });
  });
}

}  // namespace spikecore::train

// Explicit instantiation for one dtype (celif_kernels.cpp, celif_kernels_f64.cpp).
#define SPIKECORE_INSTANTIATE(T)                                                              \
  template void celif_forward<T>(const CELIFArgs<T>&, const T*, const T*, const T*, const T*, \
                                 const T*, T*, T*, T*, T*);                                   \
  template void celif_backward<T>(const CELIFArgs<T>&, const T*, const T*, const T*,          \
                                  const T*, const T*, const T*, const T*, const T*, const T*, \
                                  T*, T*, T*, T*, T*, T*, T*, T*, T*);
