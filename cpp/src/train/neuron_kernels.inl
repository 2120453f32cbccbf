// Fused multi-step forward / BPTT backward of the LIF-family neurons (see train/kernels.hpp).
// The neuron equations are the model headers' (neurons/lif_discrete.hpp, alif_discrete.hpp,
// noisy_lif.hpp): the forward's inner loop is their block step, and backward recomputes the
// previous membrane with their lif_reset; only the adjoint recursion is written here.
// Threads own fixed blocks of neurons and run the whole time loop on them; the inner loop over
// neurons is contiguous and branch-free, so the compiler vectorises it. Included by
// neuron_kernels_f32.cpp / neuron_kernels_f64.cpp (one dtype each, so they compile in
// parallel). Compile-time variants: surrogate kind, soft reset, noise, smooth mode (and the
// spike source in backward); rarer switches (detach_reset, storing h) are runtime constants.
#pragma once
#include <cstring>
#include <vector>

#include "spikecore/neurons/alif_discrete.hpp"
#include "spikecore/neurons/lif_discrete.hpp"
#include "spikecore/neurons/noisy_lif.hpp"
#include "spikecore/train/kernels.hpp"

namespace spikecore::train {

namespace {

template <SurrogateKind K, bool Smooth, typename T>
inline T spike_of(T y, T alpha) {
  if constexpr (Smooth) return sg_cdf<K>(y, alpha);
  else return heaviside(y);
}

template <typename T, SurrogateKind K, bool Soft, bool Noise, bool Smooth>
void lif_fwd_block(const NeuronArgs<T>& a, const T* __restrict__ x, const T* __restrict__ v0,
                   T* __restrict__ z, T* __restrict__ h, T* __restrict__ v, int64_t n0,
                   int64_t n1) {
  const int64_t N = a.n;
  const T vth = a.v_th, vr = a.v_reset, al = a.alpha;
  const T* __restrict__ beta = a.beta;
  const T* __restrict__ drive = a.drive;
  for (int64_t i = n0; i < n1; ++i) v[i] = v0[i];
  for (int64_t t = 0; t < a.steps; ++t) {
    const T* __restrict__ xt = x + t * N;
    const T* __restrict__ et = Noise ? a.eps + t * N : nullptr;
    T* __restrict__ zt = z + t * N;
    T* __restrict__ ht = h ? h + t * N : nullptr;
    lif_discrete_block<T, Soft, Noise>(n0, n1, beta, drive, vth, vr, xt, et, v, zt, ht,
                                       [al](T y) { return spike_of<K, Smooth>(y, al); });
    if (a.bits != nullptr) {  // spikes as bits for backward; n0 is a multiple of 16
      uint8_t* bt = a.bits + t * ((N + 7) / 8);
      for (int64_t i = n0; i < n1; i += 8) {
        unsigned byte = 0;
        for (int64_t k = 0; k < 8 && i + k < n1; ++k) byte |= unsigned(zt[i + k] != T(0)) << k;
        bt[i >> 3] = uint8_t(byte);
      }
    }
  }
}

// One backward step over neurons [n0, n1): vprev comes from hp (t > 0) or v0 (t == 0).
template <typename T, SurrogateKind K, bool Soft, bool Noise, bool Smooth, bool First, bool Bits>
inline void lif_bwd_step(const T vth, const T vr, const T jump, const T al, const T rk,
                         const T* __restrict__ beta, const T* __restrict__ ht,
                         const T* __restrict__ hp, const T* __restrict__ et,
                         const T* __restrict__ ep, const uint8_t* __restrict__ bt,
                         const uint8_t* __restrict__ bp, const T* __restrict__ v0,
                         const T* __restrict__ gzt, T* __restrict__ gxt, T* __restrict__ gv,
                         T* __restrict__ gb, T* __restrict__ gd, int64_t n0, int64_t n1) {
#pragma GCC ivdep
  for (int64_t i = n0; i < n1; ++i) {
    const T hh = ht[i];
    const T xx = hh - vth;
    T y = xx;
    if constexpr (Noise) y = y + et[i];
    T zz;
    if constexpr (Bits) zz = ((bt[i >> 3] >> (i & 7)) & 1u) ? T(1) : T(0);
    else zz = spike_of<K, Smooth>(y, al);
    const T sg = sg_grad<K>(Smooth ? y : xx, al);
    const T g = gv[i];
    T gzz = gzt[i];
    T dvdh;
    // rk = 0 with detach_reset (no gradient through the reset), else 1
    if constexpr (Soft) {
      gzz = gzz - rk * (g * jump);
      dvdh = T(1);
    } else {
      gzz = gzz + rk * (g * (vr - hh));
      dvdh = T(1) - zz;
    }
    const T gh = gzz * sg + g * dvdh;
    gxt[i] = gh;
    T vprev;
    if constexpr (First) {
      vprev = v0[i];
    } else {
      const T hp_ = hp[i];
      T yp = hp_ - vth;
      if constexpr (Noise) yp = yp + ep[i];
      T zp;
      if constexpr (Bits) zp = ((bp[i >> 3] >> (i & 7)) & 1u) ? T(1) : T(0);
      else zp = spike_of<K, Smooth>(yp, al);
      vprev = lif_reset<Soft>(hp_, zp, vr, jump);
    }
    gb[i] += gh * vprev;
    gd[i] += gh;
    gv[i] = gh * beta[i];
  }
}

template <typename T, SurrogateKind K, bool Soft, bool Noise, bool Smooth, bool Bits>
void lif_bwd_block(const NeuronArgs<T>& a, const T* h, const T* v0, const T* gz, const T* gvT,
                   T* gx, T* gv, T* gb, T* gd, int64_t n0, int64_t n1) {
  const int64_t N = a.n;
  const T vth = a.v_th, vr = a.v_reset, jump = a.v_th - a.v_reset, al = a.alpha;
  const T rk = a.detach_reset ? T(0) : T(1);
  for (int64_t i = n0; i < n1; ++i) {
    gv[i] = gvT ? gvT[i] : T(0);
    gb[i] = T(0);
    gd[i] = T(0);
  }
  for (int64_t t = a.steps - 1; t >= 0; --t) {
    const T* et = Noise ? a.eps + t * N : nullptr;
    const int64_t nb = (N + 7) / 8;
    const uint8_t* bt = Bits ? a.bits + t * nb : nullptr;
    if (t > 0) {
      const T* ep = Noise ? a.eps + (t - 1) * N : nullptr;
      const uint8_t* bp = Bits ? a.bits + (t - 1) * nb : nullptr;
      lif_bwd_step<T, K, Soft, Noise, Smooth, false, Bits>(
          vth, vr, jump, al, rk, a.beta, h + t * N, h + (t - 1) * N, et, ep, bt, bp, v0,
          gz + t * N, gx + t * N, gv, gb, gd, n0, n1);
    } else {
      lif_bwd_step<T, K, Soft, Noise, Smooth, true, Bits>(
          vth, vr, jump, al, rk, a.beta, h, nullptr, et, nullptr, bt, nullptr, v0, gz, gx, gv, gb,
          gd, n0, n1);
    }
  }
}

template <typename T, SurrogateKind K, bool Soft, bool Smooth>
void alif_fwd_block(const NeuronArgs<T>& a, const T* __restrict__ x, const T* __restrict__ v0,
                    const T* __restrict__ a0, T* __restrict__ z, T* __restrict__ h,
                    T* __restrict__ ap, T* __restrict__ v, T* __restrict__ ad, int64_t n0,
                    int64_t n1) {
  const int64_t N = a.n;
  const T vth = a.v_th, vr = a.v_reset, al = a.alpha, rho = a.rho, ba = a.beta_a;
  const T* __restrict__ beta = a.beta;
  const T* __restrict__ drive = a.drive;
  for (int64_t i = n0; i < n1; ++i) {
    v[i] = v0[i];
    ad[i] = a0[i];
  }
  for (int64_t t = 0; t < a.steps; ++t) {
    const T* xt = x + t * N;
    T* zt = z + t * N;
    T* ht = h + t * N;
    T* apt = ap + t * N;
    alif_discrete_block<T, Soft>(n0, n1, beta, drive, vth, vr, rho, ba, xt, v, ad, zt, ht, apt,
                                 [al](T y) { return spike_of<K, Smooth>(y, al); });
  }
}

template <typename T, SurrogateKind K, bool Soft, bool Smooth>
void alif_bwd_block(const NeuronArgs<T>& a, const T* __restrict__ h, const T* __restrict__ ap,
                    const T* __restrict__ v0, const T* __restrict__ gz,
                    const T* __restrict__ gvT, const T* __restrict__ gaT, T* __restrict__ gx,
                    T* __restrict__ gv, T* __restrict__ ga, T* __restrict__ gb,
                    T* __restrict__ gd, int64_t n0, int64_t n1) {
  const int64_t N = a.n;
  const T vth = a.v_th, vr = a.v_reset, al = a.alpha, rho = a.rho, ba = a.beta_a;
  const T rk = a.detach_reset ? T(0) : T(1);
  const T* __restrict__ beta = a.beta;
  for (int64_t i = n0; i < n1; ++i) {
    gv[i] = gvT ? gvT[i] : T(0);
    ga[i] = gaT ? gaT[i] : T(0);
    gb[i] = T(0);
    gd[i] = T(0);
  }
  for (int64_t t = a.steps - 1; t >= 0; --t) {
    const T* ht = h + t * N;
    const T* apt = ap + t * N;
    const T* hp = t > 0 ? h + (t - 1) * N : nullptr;
    const T* app = t > 0 ? ap + (t - 1) * N : nullptr;
    const T* gzt = gz + t * N;
    T* gxt = gx + t * N;
#pragma GCC ivdep
    for (int64_t i = n0; i < n1; ++i) {
      const T hh = ht[i];
      const T theta = alif_threshold(apt[i], vth);
      const T xx = hh - theta;
      const T zz = spike_of<K, Smooth>(xx, al);
      const T sg = sg_grad<K>(xx, al);
      const T g = gv[i], gaa = ga[i];
      T gzz = gzt[i] + gaa * ba;
      T dvdh;
      if constexpr (Soft) {
        gzz = gzz - rk * (g * (theta - vr));
        dvdh = T(1);
      } else {
        gzz = gzz + rk * (g * (vr - hh));
        dvdh = T(1) - zz;
      }
      const T gzs = gzz * sg;
      const T gh = gzs + g * dvdh;
      T ga_new = gaa * rho - gzs;
      if constexpr (Soft) ga_new = ga_new - g * zz;
      gxt[i] = gh;
      T vprev;
      if (t > 0) {
        const T hp_ = hp[i];
        const T thp = alif_threshold(app[i], vth);
        const T zp = spike_of<K, Smooth>(hp_ - thp, al);
        vprev = lif_reset<Soft>(hp_, zp, vr, thp - vr);
      } else {
        vprev = v0[i];
      }
      gb[i] += gh * vprev;
      gd[i] += gh;
      gv[i] = gh * beta[i];
      ga[i] = ga_new;
    }
  }
}

template <typename F>
inline void dispatch_bool(bool b, F&& f) {
  if (b) f(std::true_type{});
  else f(std::false_type{});
}

}  // namespace

template <typename T>
void lif_forward(const NeuronArgs<T>& a, const T* x, const T* v0, T* z, T* h, T* vT) {
  dispatch_surrogate(a.kind, [&](auto K) {
    dispatch_bool(a.soft, [&](auto S) {
      dispatch_bool(a.eps != nullptr, [&](auto E) {
        dispatch_bool(a.smooth, [&](auto M) {
          parallel_blocks(a.n_threads, a.n, [&](int64_t n0, int64_t n1) {
            lif_fwd_block<T, decltype(K)::value, decltype(S)::value, decltype(E)::value,
                          decltype(M)::value>(a, x, v0, z, h, vT, n0, n1);
          }, 4096 / (a.steps > 0 ? a.steps : 1) + 16);
        });
      });
    });
  });
}

template <typename T>
void lif_backward(const NeuronArgs<T>& a, const T* h, const T* v0, const T* gz, const T* gvT,
                  T* gx, T* gv0, T* gbeta, T* gdrive) {
  auto run = [&](auto K, auto S, auto E, auto M, auto B) {
    parallel_blocks(a.n_threads, a.n, [&](int64_t n0, int64_t n1) {
      lif_bwd_block<T, decltype(K)::value, decltype(S)::value, decltype(E)::value,
                    decltype(M)::value, decltype(B)::value>(a, h, v0, gz, gvT, gx, gv0, gbeta,
                                                            gdrive, n0, n1);
    }, 4096 / (a.steps > 0 ? a.steps : 1) + 16);
  };
  if (a.bits != nullptr && (a.smooth || a.eps != nullptr))
    throw value_error("bits: spikes from bits exclude smooth mode and eps");
  dispatch_surrogate(a.kind, [&](auto K) {
    dispatch_bool(a.soft, [&](auto S) {
      if (a.bits != nullptr) {
        run(K, S, std::false_type{}, std::false_type{}, std::true_type{});
      } else {
        dispatch_bool(a.eps != nullptr, [&](auto E) {
          dispatch_bool(a.smooth, [&](auto M) { run(K, S, E, M, std::false_type{}); });
        });
      }
    });
  });
}

template <typename T>
void alif_forward(const NeuronArgs<T>& a, const T* x, const T* v0, const T* a0, T* z, T* h,
                  T* aprev, T* vT, T* aT) {
  dispatch_surrogate(a.kind, [&](auto K) {
    dispatch_bool(a.soft, [&](auto S) {
      dispatch_bool(a.smooth, [&](auto M) {
        parallel_blocks(a.n_threads, a.n, [&](int64_t n0, int64_t n1) {
          alif_fwd_block<T, decltype(K)::value, decltype(S)::value, decltype(M)::value>(
              a, x, v0, a0, z, h, aprev, vT, aT, n0, n1);
        }, 4096 / (a.steps > 0 ? a.steps : 1) + 16);
      });
    });
  });
}

template <typename T>
void alif_backward(const NeuronArgs<T>& a, const T* h, const T* aprev, const T* v0,
                   const T* gz, const T* gvT, const T* gaT, T* gx, T* gv0, T* ga0, T* gbeta,
                   T* gdrive) {
  dispatch_surrogate(a.kind, [&](auto K) {
    dispatch_bool(a.soft, [&](auto S) {
      dispatch_bool(a.smooth, [&](auto M) {
        parallel_blocks(a.n_threads, a.n, [&](int64_t n0, int64_t n1) {
          alif_bwd_block<T, decltype(K)::value, decltype(S)::value, decltype(M)::value>(
              a, h, aprev, v0, gz, gvT, gaT, gx, gv0, ga0, gbeta, gdrive, n0, n1);
        }, 4096 / (a.steps > 0 ? a.steps : 1) + 16);
      });
    });
  });
}

template <typename T>
void li_forward(const NeuronArgs<T>& a, const T* x, const T* v0, T* out) {
  const int64_t N = a.n;
  parallel_blocks(a.n_threads, N, [&](int64_t n0, int64_t n1) {
    for (int64_t t = 0; t < a.steps; ++t) {
      const T* prev = t > 0 ? out + (t - 1) * N : v0;
      const T* xt = x + t * N;
      T* ot = out + t * N;
      for (int64_t i = n0; i < n1; ++i)
        ot[i] = (a.drive[i] + prev[i] * a.beta[i]) + xt[i];
    }
  }, 4096 / (a.steps > 0 ? a.steps : 1) + 16);
}

template <typename T>
void li_backward(const NeuronArgs<T>& a, const T* out, const T* v0, const T* gout,
                 const T* gvT, T* gx, T* gv0, T* gbeta, T* gdrive) {
  const int64_t N = a.n;
  parallel_blocks(a.n_threads, N, [&](int64_t n0, int64_t n1) {
    for (int64_t i = n0; i < n1; ++i) {
      gv0[i] = gvT ? gvT[i] : T(0);
      gbeta[i] = T(0);
      gdrive[i] = T(0);
    }
    for (int64_t t = a.steps - 1; t >= 0; --t) {
      const T* prev = t > 0 ? out + (t - 1) * N : v0;
      const T* gt = gout + t * N;
      T* gxt = gx + t * N;
      for (int64_t i = n0; i < n1; ++i) {
        const T g = gv0[i] + gt[i];
        gxt[i] = g;
        gbeta[i] += g * prev[i];
        gdrive[i] += g;
        gv0[i] = g * a.beta[i];
      }
    }
  }, 4096 / (a.steps > 0 ? a.steps : 1) + 16);
}

}  // namespace spikecore::train

// Explicit instantiations, one dtype per translation unit (neuron_kernels_f32/_f64.cpp), so the
// two halve the compile time and memory of one file.
#define SPIKECORE_INSTANTIATE_NEURON_KERNELS(T)                                             \
  template void lif_forward<T>(const NeuronArgs<T>&, const T*, const T*, T*, T*, T*);         \
  template void lif_backward<T>(const NeuronArgs<T>&, const T*, const T*, const T*, const T*, \
                                T*, T*, T*, T*);                                              \
  template void alif_forward<T>(const NeuronArgs<T>&, const T*, const T*, const T*, T*, T*,   \
                                T*, T*, T*);                                                  \
  template void alif_backward<T>(const NeuronArgs<T>&, const T*, const T*, const T*,          \
                                 const T*, const T*, const T*, T*, T*, T*, T*, T*);           \
  template void li_forward<T>(const NeuronArgs<T>&, const T*, const T*, T*);                  \
  template void li_backward<T>(const NeuronArgs<T>&, const T*, const T*, const T*, const T*,  \
                               T*, T*, T*, T*);

