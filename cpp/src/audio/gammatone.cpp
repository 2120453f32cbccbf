#include "spikecore/audio/gammatone.hpp"

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstring>

#if defined(__SSE__)
#include <immintrin.h>
#endif

#include "spikecore/core/errors.hpp"
#include "spikecore/core/thread_pool.hpp"

namespace spikecore {
namespace audio {

double erb_hz(double f) { return 24.7 * (4.37 * f / 1000.0 + 1.0); }
double hz_to_erb_number(double f) { return 21.4 * std::log10(1.0 + 0.00437 * f); }
double erb_number_to_hz(double e) { return (std::pow(10.0, e / 21.4) - 1.0) / 0.00437; }

std::vector<double> erb_space(double f_lo, double f_hi, int n) {
  require(n >= 1, "n_channels", "must be >= 1, got " + std::to_string(n));
  std::vector<double> cf(static_cast<size_t>(n));
  const double e0 = hz_to_erb_number(f_lo), e1 = hz_to_erb_number(f_hi);
  for (int i = 0; i < n; ++i)
    cf[size_t(i)] = n == 1 ? f_lo : erb_number_to_hz(e0 + (e1 - e0) * double(i) / double(n - 1));
  return cf;
}

std::array<Biquad, 4> slaney_sections(double cf, double fs) {
  const double pi = 3.14159265358979323846;
  const double T = 1.0 / fs;
  const double B = 1.019 * 2.0 * pi * erb_hz(cf);
  const double arg = 2.0 * pi * cf * T;
  const double c = std::cos(arg), s = std::sin(arg), e = std::exp(B * T);
  const double r3p = std::sqrt(3.0 + std::pow(2.0, 1.5)), r3m = std::sqrt(3.0 - std::pow(2.0, 1.5));
  const double a1 = -2.0 * c / e, a2 = std::exp(-2.0 * B * T);
  const double b1[4] = {
      -(2 * T * c / e + 2 * r3p * T * s / e) / 2, -(2 * T * c / e - 2 * r3p * T * s / e) / 2,
      -(2 * T * c / e + 2 * r3m * T * s / e) / 2, -(2 * T * c / e - 2 * r3m * T * s / e) / 2};
  // Gain at cf (Slaney's closed form).
  using cd = std::complex<double>;
  const cd z2 = std::exp(cd(0, 2.0 * arg));
  const cd k1 = -2.0 * z2 * T;
  const cd k2 = 2.0 * std::exp(cd(-B * T, arg)) * T;
  cd g = (k1 + k2 * (c - r3m * s)) * (k1 + k2 * (c + r3m * s)) * (k1 + k2 * (c - r3p * s)) *
         (k1 + k2 * (c + r3p * s));
  const cd den = -2.0 / std::exp(2.0 * B * T) - 2.0 * z2 + 2.0 * (1.0 + z2) / e;
  const double gain = std::abs(g / (den * den * den * den));
  std::array<Biquad, 4> out;
  for (int k = 0; k < 4; ++k) out[size_t(k)] = Biquad{T, b1[k], 0.0, a1, a2};
  out[0].b0 /= gain;
  out[0].b1 /= gain;
  return out;
}

void CochleaParams::validate() const {
  require_positive(fs, "fs");
  require(n_channels >= 1, "n_channels", "must be >= 1, got " + std::to_string(n_channels));
  require_positive(f_lo, "f_lo");
  require_finite(f_hi, "f_hi");
  require(f_hi < fs / 2, "f_hi",
          "must be < fs / 2 = " + std::to_string(fs / 2) + ", got " + std::to_string(f_hi));
  require(f_lo < f_hi || (n_channels == 1 && f_lo <= f_hi), "f_lo",
          "must be < f_hi = " + std::to_string(f_hi) + ", got " + std::to_string(f_lo));
  require_finite(pre_emphasis, "pre_emphasis");
  require(pre_emphasis >= 0 && pre_emphasis < 1, "pre_emphasis",
          "must be in [0, 1), got " + std::to_string(pre_emphasis));
  require_nonnegative(lowpass_hz, "lowpass_hz");
  require(lowpass_hz < fs / 2, "lowpass_hz", "must be < fs / 2");
  require(decimation >= 1, "decimation", "must be >= 1, got " + std::to_string(decimation));
  require(envelope || decimation == 1, "decimation",
          "needs envelope=True (decimating band signals aliases)");
  require(envelope || compression == 0, "compression", "needs envelope=True");
  require(compression >= 0 && compression <= 2, "compression",
          "must be 0 (none), 1 (power) or 2 (log)");
  require_positive(exponent, "exponent");
  require_positive(log_floor, "log_floor");
}

Cochlea::Cochlea(const CochleaParams& p) : p_(p) {
  p_.validate();
  cf_ = erb_space(p_.f_lo, p_.f_hi, p_.n_channels);
  cp_ = (p_.n_channels + kGroup - 1) / kGroup * kGroup;
  gain_.assign(size_t(cp_), 0.f);
  for (auto& v : c1_) v.assign(size_t(cp_), 0.f);
  a1_.assign(size_t(cp_), 0.f);
  a2_.assign(size_t(cp_), 0.f);
  for (int c = 0; c < p_.n_channels; ++c) {
    const auto sec = slaney_sections(cf_[size_t(c)], p_.fs);
    // Every section has b0 = T (times the gain in section 0): factor b0 out of all four and apply
    // the product at the input, so each section is y = x + c1 x[-1] - a1 y[-1] - a2 y[-2].
    double g = 1.0;
    for (int k = 0; k < 4; ++k) {
      g *= sec[size_t(k)].b0;
      c1_[k][size_t(c)] = float(sec[size_t(k)].b1 / sec[size_t(k)].b0);
    }
    gain_[size_t(c)] = float(g);
    a1_[size_t(c)] = float(sec[0].a1);
    a2_[size_t(c)] = float(sec[0].a2);
  }
  if (p_.lowpass_hz > 0)
    lp_a_ = float(std::exp(-2.0 * 3.14159265358979323846 * p_.lowpass_hz / p_.fs));
}

std::vector<std::array<Biquad, 4>> Cochlea::applied_sections() const {
  std::vector<std::array<Biquad, 4>> out(size_t(p_.n_channels));
  for (int c = 0; c < p_.n_channels; ++c) {
    for (int k = 0; k < 4; ++k) {
      const double b0 = k == 0 ? double(gain_[size_t(c)]) : 1.0;
      out[size_t(c)][size_t(k)] = Biquad{b0, b0 * double(c1_[k][size_t(c)]), 0.0,
                                         double(a1_[size_t(c)]), double(a2_[size_t(c)])};
    }
  }
  return out;
}

CochleaState Cochlea::initial_state() const {
  CochleaState s;
  s.p.assign(size_t(5 * cp_), 0.f);
  s.q.assign(size_t(5 * cp_), 0.f);
  s.lp.assign(size_t(2 * cp_), 0.f);
  return s;
}

int64_t Cochlea::output_length(int64_t n_seen, int64_t n) const {
  const int64_t d = p_.envelope ? p_.decimation : 1;
  return (n_seen + n) / d - n_seen / d;
}

namespace {
typedef float vf __attribute__((vector_size(kGroup * sizeof(float))));
inline vf load(const float* p) {
  vf v;
  std::memcpy(&v, p, sizeof(vf));
  return v;
}
inline void store(float* p, const vf& v) { std::memcpy(p, &v, sizeof(vf)); }
// Non-temporal store of one group (p must be aligned to the vector width): large outputs bypass
// the cache, so writing them costs one pass over memory instead of a read-for-ownership and a
// write-back.
inline void store_stream(float* p, const vf& v) {
#if defined(__AVX512F__)
  _mm512_stream_ps(p, reinterpret_cast<const __m512&>(v));
#elif defined(__AVX__)
  _mm256_stream_ps(p, reinterpret_cast<const __m256&>(v));
#else
  store(p, v);
#endif
}

// Flush-to-zero and denormals-are-zero for the calling thread while in scope (restored after).
// In silent stretches the IIR state decays through the subnormal range, where x86 arithmetic
// is slow; flushing changes values only below 1.2e-38 (float32's smallest normal number).
struct FlushDenormals {
#if defined(__SSE__)
  unsigned saved = _mm_getcsr();
  FlushDenormals() { _mm_setcsr(saved | 0x8040u); }  // FTZ (bit 15) | DAZ (bit 6)
  ~FlushDenormals() { _mm_setcsr(saved); }
#endif
};

// Output larger than this (bytes) is written with non-temporal stores.
constexpr int64_t kStreamBytes = int64_t(4) << 20;
// Samples per time block: every channel group runs over one block before the next block, so the
// block's output rows are written while they are in cache.
constexpr int64_t kBlock = 256;
}  // namespace

void Cochlea::run_group(const float* x, int64_t T, float* out, CochleaState& s, int g,
                        int64_t n_call, int64_t n0, float xprev, bool stream) const {
  const int W = kGroup, C = p_.n_channels;
  const int c0 = g * W;
  const int nvalid = std::min(W, C - c0);
  const vf gain = load(&gain_[size_t(c0)]);
  const vf c1a = load(&c1_[0][size_t(c0)]), c1b = load(&c1_[1][size_t(c0)]),
           c1c = load(&c1_[2][size_t(c0)]), c1d = load(&c1_[3][size_t(c0)]);
  const vf a1 = load(&a1_[size_t(c0)]), a2 = load(&a2_[size_t(c0)]);
  float* P = s.p.data();
  float* Q = s.q.data();
  vf p0 = load(P + 0 * cp_ + c0), p1 = load(P + 1 * cp_ + c0), p2 = load(P + 2 * cp_ + c0),
     p3 = load(P + 3 * cp_ + c0), p4 = load(P + 4 * cp_ + c0);
  vf q1 = load(Q + 1 * cp_ + c0), q2 = load(Q + 2 * cp_ + c0), q3 = load(Q + 3 * cp_ + c0),
     q4 = load(Q + 4 * cp_ + c0);
  const bool env = p_.envelope;
  const bool lp = env && p_.lowpass_hz > 0;
  const vf la = vf{} + lp_a_, lb = vf{} + (1.0f - lp_a_);
  vf l1 = load(s.lp.data() + c0), l2 = load(s.lp.data() + cp_ + c0);
  const int64_t D = env ? p_.decimation : 1;
  const int64_t row0 = n_call / D;  // out holds the rows produced since n_call samples
  const float alpha = float(p_.pre_emphasis);
  const vf zero = vf{};
  const int comp = p_.compression;
  const float ex = float(p_.exponent), inv_floor = float(1.0 / p_.log_floor);
  for (int64_t t = 0; t < T; ++t) {
    float xt = x[t];
    if (alpha != 0.f) {
      const float xe = xt - alpha * xprev;
      xprev = xt;
      xt = xe;
    }
    const vf u = gain * xt;
    // Terms that depend only on the previous samples first, then the short chain through x.
    const vf t1 = (c1a * p0 - a2 * q1) - a1 * p1;
    const vf t2 = (c1b * p1 - a2 * q2) - a1 * p2;
    const vf t3 = (c1c * p2 - a2 * q3) - a1 * p3;
    const vf t4 = (c1d * p3 - a2 * q4) - a1 * p4;
    const vf y1 = u + t1;
    const vf y2 = y1 + t2;
    const vf y3 = y2 + t3;
    const vf y4 = y3 + t4;
    q1 = p1;
    q2 = p2;
    q3 = p3;
    q4 = p4;
    p0 = u;
    p1 = y1;
    p2 = y2;
    p3 = y3;
    p4 = y4;
    vf e = y4;
    if (env) {
      e = e > zero ? e : zero;
      if (lp) {
        l1 = lb * e + la * l1;
        l2 = lb * l1 + la * l2;
        e = l2;
      }
      if ((n0 + t + 1) % D != 0) continue;
    }
    float* o = out + ((n0 + t + 1) / D - 1 - row0) * C + c0;
    if (nvalid == W && comp == 0) {
      if (stream)
        store_stream(o, e);
      else
        store(o, e);
    } else {
      float buf[W];
      store(buf, e);
      for (int i = 0; i < nvalid; ++i) {
        float v = buf[i];
        if (comp == 1)
          v = std::pow(v, ex);
        else if (comp == 2)
          v = std::log1p(v * inv_floor);
        o[i] = v;
      }
    }
  }
  store(P + 0 * cp_ + c0, p0);
  store(P + 1 * cp_ + c0, p1);
  store(P + 2 * cp_ + c0, p2);
  store(P + 3 * cp_ + c0, p3);
  store(P + 4 * cp_ + c0, p4);
  store(Q + 1 * cp_ + c0, q1);
  store(Q + 2 * cp_ + c0, q2);
  store(Q + 3 * cp_ + c0, q3);
  store(Q + 4 * cp_ + c0, q4);
  store(s.lp.data() + c0, l1);
  store(s.lp.data() + cp_ + c0, l2);
}

void Cochlea::process(const float* x, int64_t B, int64_t T, float* out, CochleaState* states,
                      ThreadPool* pool, int64_t out_stride) const {
  const int G = cp_ / kGroup;
  const int C = p_.n_channels;
  // Tasks: (batch item, range of channel groups). With more threads than batch items the groups
  // are split between threads; each task runs its groups block by block over time.
  const int nt = (pool == nullptr) ? 1 : pool->size();
  const int splits = int(std::min<int64_t>(G, std::max<int64_t>(1, (nt + B - 1) / B)));
  const int64_t n_tasks = B * splits;
  auto task = [&](int64_t i) {
    FlushDenormals ftz;
    const int64_t b = i / splits;
    const int split = int(i % splits);
    const int g_lo = int(int64_t(G) * split / splits),
              g_hi = int(int64_t(G) * (split + 1) / splits);
    CochleaState& st = states[b];
    const int64_t out_rows = output_length(st.n_seen, T);
    float* ob = out + b * (out_stride < 0 ? out_rows * C : out_stride);
    const float* xb = x + b * T;
    const bool stream = out_rows * C * int64_t(sizeof(float)) > kStreamBytes && C % kGroup == 0 &&
                        (reinterpret_cast<uintptr_t>(ob) % sizeof(vf)) == 0;
    for (int64_t t0 = 0; t0 < T; t0 += kBlock) {
      const int64_t tb = std::min(kBlock, T - t0);
      const float xprev = t0 == 0 ? st.x_prev : xb[t0 - 1];
      for (int g = g_lo; g < g_hi; ++g)
        run_group(xb + t0, tb, ob, st, g, st.n_seen, st.n_seen + t0, xprev, stream);
    }
#if defined(__SSE__)
    if (stream) _mm_sfence();
#endif
  };
  if (pool == nullptr || nt == 1 || n_tasks == 1) {
    for (int64_t i = 0; i < n_tasks; ++i) task(i);
  } else {
    pool->run([&](int rank) {
      int64_t lo, hi;
      ThreadPool::block_range(n_tasks, nt, rank, lo, hi);
      for (int64_t i = lo; i < hi; ++i) task(i);
    });
  }
  // Per-item scalar state advances once, after all groups used the old values.
  for (int64_t b = 0; b < B; ++b) {
    if (T > 0 && p_.pre_emphasis != 0.0) states[b].x_prev = x[b * T + T - 1];
    states[b].n_seen += T;
  }
}

CochleaStream::CochleaStream(std::shared_ptr<const Cochlea> bank, int64_t batch, int n_threads)
    : bank_(std::move(bank)) {
  require(batch >= 1, "batch", "must be >= 1, got " + std::to_string(batch));
  require_threads(n_threads);
  states_.assign(size_t(batch), bank_->initial_state());
  if (n_threads > 1) pool_ = std::make_unique<ThreadPool>(n_threads);
}

CochleaStream::~CochleaStream() = default;

void CochleaStream::reset() {
  for (auto& s : states_) s = bank_->initial_state();
}

void CochleaStream::process(const float* x, int64_t T, float* out, int64_t out_stride) {
  const int64_t B = batch();
  for (int64_t i = 0; i < B * T; ++i)
    if (!std::isfinite(x[i]))
      throw value_error("x: samples must be finite, found " + std::to_string(x[i]) + " at index " +
                        std::to_string(i));
  if (out_stride >= 0)
    require(out_stride >= output_length(T) * bank_->n_channels(), "out",
            "batch stride " + std::to_string(out_stride) + " is below one item's output");
  bank_->process(x, B, T, out, states_.data(), pool_.get(), out_stride);
}

}  // namespace audio
}  // namespace spikecore
