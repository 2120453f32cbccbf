// Fused CE-LIF kernels (see train/celif_kernels.hpp). Threads own fixed neuron blocks and run
// the whole time loop on them, so results do not depend on the thread count.
#include "spikecore/train/celif_kernels.hpp"

#include <type_traits>

#include "spikecore/neurons/celif.hpp"
#include "spikecore/train/kernels.hpp"

namespace spikecore::train {

namespace {

template <SurrogateKind K, bool Smooth, typename T>
inline T spike_value(T y, T alpha) {
  if constexpr (Smooth) return sg_cdf<K>(y, alpha);
  else return y >= T(0) ? T(1) : T(0);
}

// Per-neuron parameter p[i] (PN) or a broadcast scalar p[0].
template <bool PN, typename T>
inline T par(const T* __restrict__ p, int64_t i) {
  if constexpr (PN) return p[i];
  else return p[0];
}

template <typename T, SurrogateKind K, bool Noise, bool Smooth, bool PN, bool Save>
void fwd_block(const CELIFArgs<T>& a, const T* __restrict__ I, const T* __restrict__ q,
               const T* __restrict__ v0, const T* __restrict__ a0, const T* __restrict__ c0,
               T* __restrict__ z, T* __restrict__ h, T* __restrict__ c, T* __restrict__ ap,
               T* __restrict__ v, T* __restrict__ ad, T* __restrict__ cc, int64_t n0,
               int64_t n1) {
  const int64_t N = a.n;
  const T rho = a.rho, omr = a.one_m_rho, ba = a.beta_a, g = a.gamma, vth = a.v_th,
          al = a.alpha;
  const T* __restrict__ beta = a.beta;
  const T* __restrict__ lam = a.lam;
  const T* __restrict__ oml = a.one_m_lam;
  for (int64_t i = n0; i < n1; ++i) {
    v[i] = v0[i];
    ad[i] = a0[i];
    cc[i] = c0[i];
  }
  for (int64_t t = 0; t < a.steps; ++t) {
    const int64_t o = t * N;
    const T* __restrict__ It = I + o;
    const T* __restrict__ qt = q + o;
    const T* __restrict__ et = Noise ? a.eps + o : nullptr;
    T* __restrict__ zt = z + o;
    T* __restrict__ ht = Save ? h + o : nullptr;
    T* __restrict__ ct = Save ? c + o : nullptr;
    T* __restrict__ apt = Save ? ap + o : nullptr;
#pragma GCC ivdep
    for (int64_t i = n0; i < n1; ++i) {
      T x;
      const T aa = ad[i];
      T vv = v[i], cv = cc[i];
      const T hh = celif_pre<T>(vv, aa, cv, It[i], qt[i], par<PN>(beta, i), par<PN>(lam, i),
                                par<PN>(oml, i), ba, g, vth, x);
      T y = x;
      if constexpr (Noise) y = y + et[i];
      const T zz = spike_value<K, Smooth>(y, al);
      T an = aa;
      celif_post<T>(vv, an, hh, zz, rho, omr);
      v[i] = vv;
      ad[i] = an;
      cc[i] = cv;
      zt[i] = zz;
      if constexpr (Save) {
        ht[i] = hh;
        ct[i] = cv;
        apt[i] = aa;
      }
    }
  }
}

// One backward step over [n0, n1); First: t == 0 (v_{t-1} = v0, c_{t-1} = c0).
template <typename T, SurrogateKind K, bool Noise, bool Smooth, bool Detach, bool PN, bool First,
          bool Shared>
inline void bwd_step(const CELIFArgs<T>& a, const T* __restrict__ qt, const T* __restrict__ ht,
                     const T* __restrict__ ct, const T* __restrict__ apt,
                     const T* __restrict__ hp, const T* __restrict__ cp,
                     const T* __restrict__ app, const T* __restrict__ et,
                     const T* __restrict__ ep, const T* __restrict__ v0,
                     const T* __restrict__ c0, const T* __restrict__ gzt, T* __restrict__ gIt,
                     T* __restrict__ gqt, T* __restrict__ gv, T* __restrict__ ga,
                     T* __restrict__ gc, T* __restrict__ gb, T* __restrict__ gl,
                     T* __restrict__ gol, int64_t n0, int64_t n1) {
  const T rho = a.rho, omr = a.one_m_rho, ba = a.beta_a, g = a.gamma, vth = a.v_th,
          al = a.alpha;
  const T* __restrict__ beta = a.beta;
  const T* __restrict__ lam = a.lam;
  const T* __restrict__ oml = a.one_m_lam;
#pragma GCC ivdep
  for (int64_t i = n0; i < n1; ++i) {
    const T hh = ht[i];
    const T theta = (apt[i] * ba + vth) + ct[i] * g;
    const T xx = hh - theta;
    T y = xx;
    if constexpr (Noise) y = y + et[i];
    const T zz = spike_value<K, Smooth>(y, al);
    const T s = sg_grad<K>(Smooth ? y : xx, al);
    const T gvv = gv[i];
    T gzz = gzt[i] + omr * ga[i];
    if constexpr (!Detach) gzz = gzz - gvv * hh;
    const T gzs = gzz * s;
    const T gh = gzs + gvv * (T(1) - zz);
    T vprev, cprev;
    if constexpr (First) {
      vprev = v0[i];
      cprev = c0[i];
    } else {
      const T hpv = hp[i];
      const T thp = (app[i] * ba + vth) + cp[i] * g;
      T yp = hpv - thp;
      if constexpr (Noise) yp = yp + ep[i];
      vprev = hpv * (T(1) - spike_value<K, Smooth>(yp, al));
      cprev = cp[i];
    }
    gb[i] += gh * vprev;
    gv[i] = gh * par<PN>(beta, i);
    ga[i] = ga[i] * rho - gzs * ba;
    const T gct = gc[i] - gzs * g;
    const T gqq = gct * par<PN>(oml, i);
    if constexpr (Shared) {
      gIt[i] = gh + gqq;
    } else {
      gIt[i] = gh;
      gqt[i] = gqq;
    }
    gl[i] += gct * cprev;
    gol[i] += gct * qt[i];
    gc[i] = gct * par<PN>(lam, i);
  }
}

template <typename T, SurrogateKind K, bool Noise, bool Smooth, bool Detach, bool PN>
void bwd_block(const CELIFArgs<T>& a, const T* q, const T* h, const T* c, const T* ap,
               const T* v0, const T* c0, const T* gz, const T* gvT, const T* gaT, const T* gcT,
               T* gI, T* gq, T* gv, T* ga, T* gc, T* gb, T* gl, T* gol, int64_t n0, int64_t n1) {
  const int64_t N = a.n;
  for (int64_t i = n0; i < n1; ++i) {
    gv[i] = gvT ? gvT[i] : T(0);
    ga[i] = gaT ? gaT[i] : T(0);
    gc[i] = gcT ? gcT[i] : T(0);
    gb[i] = T(0);
    gl[i] = T(0);
    gol[i] = T(0);
  }
  auto run = [&](auto shared_tag) {
    constexpr bool S = decltype(shared_tag)::value;
    for (int64_t t = a.steps - 1; t >= 0; --t) {
      const int64_t o = t * N, op = (t - 1) * N;
      const T* et = Noise ? a.eps + o : nullptr;
      T* gqt = S ? nullptr : gq + o;
      if (t > 0) {
        const T* ep = Noise ? a.eps + op : nullptr;
        bwd_step<T, K, Noise, Smooth, Detach, PN, false, S>(
            a, q + o, h + o, c + o, ap + o, h + op, c + op, ap + op, et, ep, v0, c0, gz + o,
            gI + o, gqt, gv, ga, gc, gb, gl, gol, n0, n1);
      } else {
        bwd_step<T, K, Noise, Smooth, Detach, PN, true, S>(
            a, q, h, c, ap, nullptr, nullptr, nullptr, et, nullptr, v0, c0, gz, gI, gqt, gv, ga,
            gc, gb, gl, gol, n0, n1);
      }
    }
  };
  if (a.shared) run(std::true_type{});
  else run(std::false_type{});
}

template <typename F>
inline void dispatch_bool(bool b, F&& f) {
  if (b) f(std::true_type{});
  else f(std::false_type{});
}

inline int64_t grain(int64_t steps) { return 4096 / (steps > 0 ? steps : 1) + 16; }

}  // namespace

template <typename T>
void celif_forward(const CELIFArgs<T>& a, const T* I, const T* q, const T* v0, const T* a0,
                   const T* c0, T* z, T* h, T* c, T* ap, T* vT, T* aT, T* cT) {
  dispatch_surrogate(a.kind, [&](auto K) {
    dispatch_bool(a.eps != nullptr, [&](auto E) {
      dispatch_bool(a.smooth, [&](auto M) {
        dispatch_bool(a.beta_stride != 0, [&](auto P) {
          dispatch_bool(h != nullptr, [&](auto S) {
            parallel_blocks(a.n_threads, a.n, [&](int64_t n0, int64_t n1) {
              fwd_block<T, decltype(K)::value, decltype(E)::value, decltype(M)::value,
                        decltype(P)::value, decltype(S)::value>(a, I, q, v0, a0, c0, z, h, c,
                                                                ap, vT, aT, cT, n0, n1);
            }, grain(a.steps));
          });
        });
      });
    });
  });
}

template <typename T>
void celif_backward(const CELIFArgs<T>& a, const T* q, const T* h, const T* c, const T* ap,
                    const T* v0, const T* c0, const T* gz, const T* gvT, const T* gaT,
                    const T* gcT, T* gI, T* gq, T* gv0, T* ga0, T* gc0, T* gbeta, T* glam,
                    T* gomlam) {
  dispatch_surrogate(a.kind, [&](auto K) {
    dispatch_bool(a.eps != nullptr, [&](auto E) {
      dispatch_bool(a.smooth, [&](auto M) {
        dispatch_bool(a.detach_reset, [&](auto D) {
          dispatch_bool(a.beta_stride != 0, [&](auto P) {
            parallel_blocks(a.n_threads, a.n, [&](int64_t n0, int64_t n1) {
              bwd_block<T, decltype(K)::value, decltype(E)::value, decltype(M)::value,
                        decltype(D)::value, decltype(P)::value>(
                  a, q, h, c, ap, v0, c0, gz, gvT, gaT, gcT, gI, gq, gv0, ga0, gc0, gbeta, glam,
                  gomlam, n0, n1);
            }, grain(a.steps));
          });
        });
      });
    });
  });
}

#define SPIKECORE_INSTANTIATE(T)                                                              \
  template void celif_forward<T>(const CELIFArgs<T>&, const T*, const T*, const T*, const T*, \
                                 const T*, T*, T*, T*, T*, T*, T*, T*);                       \
  template void celif_backward<T>(const CELIFArgs<T>&, const T*, const T*, const T*,          \
                                  const T*, const T*, const T*, const T*, const T*, const T*, \
                                  const T*, T*, T*, T*, T*, T*, T*, T*, T*);

SPIKECORE_INSTANTIATE(float)
SPIKECORE_INSTANTIATE(double)
#undef SPIKECORE_INSTANTIATE

}  // namespace spikecore::train
