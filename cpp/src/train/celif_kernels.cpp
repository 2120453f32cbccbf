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

template <typename T, SurrogateKind K, bool Noise, bool Smooth>
void fwd_block(const CELIFArgs<T>& a, const T* I, const T* q, const T* v0, const T* a0,
               const T* c0, T* z, T* h, T* c, T* ap, T* v, T* ad, T* cc, int64_t n0,
               int64_t n1) {
  const int64_t N = a.n, bs = a.beta_stride, ls = a.lam_stride;
  const T rho = a.rho, omr = a.one_m_rho, ba = a.beta_a, g = a.gamma, vth = a.v_th,
          al = a.alpha;
  for (int64_t i = n0; i < n1; ++i) {
    v[i] = v0[i];
    ad[i] = a0[i];
    cc[i] = c0[i];
  }
  for (int64_t t = 0; t < a.steps; ++t) {
    const int64_t o = t * N;
    for (int64_t i = n0; i < n1; ++i) {
      T x;
      const T aa = ad[i];
      const T hh = celif_pre<T>(v[i], aa, cc[i], I[o + i], q[o + i], a.beta[i * bs],
                                a.lam[i * ls], a.one_m_lam[i * ls], ba, g, vth, x);
      T y = x;
      if constexpr (Noise) y = y + a.eps[o + i];
      const T zz = spike_value<K, Smooth>(y, al);
      celif_post<T>(v[i], ad[i], hh, zz, rho, omr);
      z[o + i] = zz;
      h[o + i] = hh;
      c[o + i] = cc[i];
      ap[o + i] = aa;
    }
  }
}

template <typename T, SurrogateKind K, bool Noise, bool Smooth, bool Detach>
void bwd_block(const CELIFArgs<T>& a, const T* q, const T* h, const T* c, const T* ap,
               const T* v0, const T* c0, const T* gz, const T* gvT, const T* gaT, const T* gcT,
               T* gI, T* gq, T* gv, T* ga, T* gc, T* gb, T* gl, T* gol, int64_t n0, int64_t n1) {
  const int64_t N = a.n, bs = a.beta_stride, ls = a.lam_stride;
  const T rho = a.rho, omr = a.one_m_rho, ba = a.beta_a, g = a.gamma, vth = a.v_th,
          al = a.alpha;
  for (int64_t i = n0; i < n1; ++i) {
    gv[i] = gvT ? gvT[i] : T(0);
    ga[i] = gaT ? gaT[i] : T(0);
    gc[i] = gcT ? gcT[i] : T(0);
    gb[i] = T(0);
    gl[i] = T(0);
    gol[i] = T(0);
  }
  for (int64_t t = a.steps - 1; t >= 0; --t) {
    const int64_t o = t * N, op = (t - 1) * N;
    for (int64_t i = n0; i < n1; ++i) {
      const T hh = h[o + i];
      const T theta = (ap[o + i] * ba + vth) + c[o + i] * g;
      const T xx = hh - theta;
      T y = xx;
      if constexpr (Noise) y = y + a.eps[o + i];
      const T zz = spike_value<K, Smooth>(y, al);
      const T s = sg_grad<K>(Smooth ? y : xx, al);
      const T gvv = gv[i];
      T gzz = gz[o + i] + omr * ga[i];
      if constexpr (!Detach) gzz = gzz - gvv * hh;
      const T gzs = gzz * s;
      const T gh = gzs + gvv * (T(1) - zz);
      gI[o + i] = gh;
      T vprev, cprev;
      if (t > 0) {
        const T hp = h[op + i];
        const T thp = (ap[op + i] * ba + vth) + c[op + i] * g;
        T yp = hp - thp;
        if constexpr (Noise) yp = yp + a.eps[op + i];
        vprev = hp * (T(1) - spike_value<K, Smooth>(yp, al));
        cprev = c[op + i];
      } else {
        vprev = v0[i];
        cprev = c0[i];
      }
      gb[i] += gh * vprev;
      gv[i] = gh * a.beta[i * bs];
      ga[i] = ga[i] * rho - gzs * ba;
      const T gct = gc[i] - gzs * g;
      gq[o + i] = gct * a.one_m_lam[i * ls];
      gl[i] += gct * cprev;
      gol[i] += gct * q[o + i];
      gc[i] = gct * a.lam[i * ls];
    }
  }
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
        parallel_blocks(a.n_threads, a.n, [&](int64_t n0, int64_t n1) {
          fwd_block<T, decltype(K)::value, decltype(E)::value, decltype(M)::value>(
              a, I, q, v0, a0, c0, z, h, c, ap, vT, aT, cT, n0, n1);
        }, grain(a.steps));
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
          parallel_blocks(a.n_threads, a.n, [&](int64_t n0, int64_t n1) {
            bwd_block<T, decltype(K)::value, decltype(E)::value, decltype(M)::value,
                      decltype(D)::value>(a, q, h, c, ap, v0, c0, gz, gvT, gaT, gcT, gI, gq,
                                          gv0, ga0, gc0, gbeta, glam, gomlam, n0, n1);
          }, grain(a.steps));
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
