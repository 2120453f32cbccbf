#pragma once
// Surrogate spike functions for the training kernels: a smooth step g_alpha(x) (a CDF) and its
// derivative g'_alpha(x), x = h - v_th. Same definitions as python/spikecore/nn/surrogate.py
// (the `kind` numbers are shared with it):
//
//   0 atan          g = 1/2 + atan(pi/2 a x) / pi          g' = (a/2) / (1 + (pi/2 a x)^2)
//   1 sigmoid       g = sigma(a x)                          g' = a sigma (1 - sigma)
//   2 fast_sigmoid  g = 1/2 + (a x) / (2 (1 + |a x|))       g' = a / (2 (1 + |a x|)^2)
//   3 triangle      piecewise quadratic                     g' = a max(0, 1 - |a x|)
//   4 rectangle     g = clamp(a x + 1/2, 0, 1)              g' = a [|a x| < 1/2]
//   5 gaussian      g = Phi(a x)                            g' = a phi(a x)
#include <cmath>

#include "spikecore/core/errors.hpp"

namespace spikecore::train {

enum class SurrogateKind : int {
  ATan = 0,
  Sigmoid = 1,
  FastSigmoid = 2,
  Triangle = 3,
  Rectangle = 4,
  Gaussian = 5
};

inline SurrogateKind surrogate_kind(int k) {
  require(k >= 0 && k <= 5, "surrogate",
          "unknown kind " + std::to_string(k) +
              "; valid: 0 atan, 1 sigmoid, 2 fast_sigmoid, 3 triangle, 4 rectangle, 5 gaussian");
  return SurrogateKind(k);
}

template <SurrogateKind K, typename T>
inline T sg_grad(T x, T a) {
  if constexpr (K == SurrogateKind::ATan) {
    const T u = T(M_PI / 2) * a * x;
    return (T(0.5) * a) / (T(1) + u * u);
  } else if constexpr (K == SurrogateKind::Sigmoid) {
    const T s = T(1) / (T(1) + std::exp(-(a * x)));
    return a * s * (T(1) - s);
  } else if constexpr (K == SurrogateKind::FastSigmoid) {
    const T d = T(1) + std::fabs(a * x);
    return a / (T(2) * d * d);
  } else if constexpr (K == SurrogateKind::Triangle) {
    const T r = T(1) - std::fabs(a * x);
    return r > T(0) ? a * r : T(0);
  } else if constexpr (K == SurrogateKind::Rectangle) {
    return std::fabs(a * x) < T(0.5) ? a : T(0);
  } else {
    const T u = a * x;
    return a * T(0.3989422804014327) * std::exp(T(-0.5) * u * u);
  }
}

template <SurrogateKind K, typename T>
inline T sg_cdf(T x, T a) {
  if constexpr (K == SurrogateKind::ATan) {
    return T(0.5) + std::atan(T(M_PI / 2) * a * x) / T(M_PI);
  } else if constexpr (K == SurrogateKind::Sigmoid) {
    return T(1) / (T(1) + std::exp(-(a * x)));
  } else if constexpr (K == SurrogateKind::FastSigmoid) {
    const T u = a * x;
    return T(0.5) + T(0.5) * u / (T(1) + std::fabs(u));
  } else if constexpr (K == SurrogateKind::Triangle) {
    T u = a * x;
    u = u < T(-1) ? T(-1) : (u > T(1) ? T(1) : u);
    return u < T(0) ? T(0.5) * (T(1) + u) * (T(1) + u) : T(1) - T(0.5) * (T(1) - u) * (T(1) - u);
  } else if constexpr (K == SurrogateKind::Rectangle) {
    const T u = a * x + T(0.5);
    return u < T(0) ? T(0) : (u > T(1) ? T(1) : u);
  } else {
    return T(0.5) * (T(1) + std::erf(a * x / T(1.4142135623730951)));
  }
}

// Calls f.template operator()<K>() with K the compile-time kind (one dispatch per kernel call).
template <typename F>
inline void dispatch_surrogate(SurrogateKind k, F&& f) {
  switch (k) {
    case SurrogateKind::ATan:
      f(std::integral_constant<SurrogateKind, SurrogateKind::ATan>{});
      break;
    case SurrogateKind::Sigmoid:
      f(std::integral_constant<SurrogateKind, SurrogateKind::Sigmoid>{});
      break;
    case SurrogateKind::FastSigmoid:
      f(std::integral_constant<SurrogateKind, SurrogateKind::FastSigmoid>{});
      break;
    case SurrogateKind::Triangle:
      f(std::integral_constant<SurrogateKind, SurrogateKind::Triangle>{});
      break;
    case SurrogateKind::Rectangle:
      f(std::integral_constant<SurrogateKind, SurrogateKind::Rectangle>{});
      break;
    case SurrogateKind::Gaussian:
      f(std::integral_constant<SurrogateKind, SurrogateKind::Gaussian>{});
      break;
  }
}

}  // namespace spikecore::train
