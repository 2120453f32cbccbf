#include "spikecore/audio/spiketrum.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "spikecore/audio/gammatone.hpp"
#include "spikecore/core/errors.hpp"

namespace spikecore {
namespace audio {

namespace {
constexpr double kPi = 3.14159265358979323846;
constexpr int64_t kBlock = 64;    // lags per level-1 block
constexpr int64_t kGroupL2 = 64;  // level-1 blocks per level-2 group

typedef float v16 __attribute__((vector_size(64)));
typedef int32_t v16i __attribute__((vector_size(64)));
inline v16 load16(const float* p) {
  v16 v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline v16 vmax(v16 a, v16 b) { return a > b ? a : b; }
typedef float v8 __attribute__((vector_size(32)));
typedef float v4 __attribute__((vector_size(16)));
inline float hmax(v16 v) {  // halving tree
  v8 a, b;
  std::memcpy(&a, &v, 32);
  std::memcpy(&b, reinterpret_cast<const char*>(&v) + 32, 32);
  a = a > b ? a : b;
  v4 c, d;
  std::memcpy(&c, &a, 16);
  std::memcpy(&d, reinterpret_cast<const char*>(&a) + 16, 16);
  c = c > d ? c : d;
  const float x = c[0] > c[1] ? c[0] : c[1], y = c[2] > c[3] ? c[2] : c[3];
  return x > y ? x : y;
}
inline v16 vabs(v16 v) {
  v16i b;
  std::memcpy(&b, &v, sizeof(b));
  b &= 0x7fffffff;
  std::memcpy(&v, &b, sizeof(v));
  return v;
}
// max of score(p[0..n)) where score = |v| (Abs) or v; n == 32 and n == 64 take the vector path.
template <bool Abs>
inline float score_max(const float* p, int64_t n) {
  if (n == 32 || n == 64) {
    v16 m = Abs ? vabs(load16(p)) : load16(p);
    for (int64_t i = 16; i < n; i += 16) m = vmax(m, Abs ? vabs(load16(p + i)) : load16(p + i));
    return hmax(m);
  }
  float best = -INFINITY;
  for (int64_t i = 0; i < n; ++i) {
    const float v = Abs ? std::fabs(p[i]) : p[i];
    best = v > best ? v : best;
  }
  return best;
}
// c[tau] = sum_j r[tau + j] g[j] for tau in [0, F): 128 lags per block in eight vector
// accumulators (register blocking), so each kernel tap costs one load and one multiply-add per 16
// lags. This function alone allows FMA contraction (the rest of the core does not): the values
// are deterministic for a given build, and the greedy choice tolerates the rounding.
__attribute__((optimize("fp-contract=fast"))) void correlate(const float* r, const float* g,
                                                             int64_t L, float* c, int64_t F) {
  int64_t t0 = 0;
  for (; t0 + 128 <= F; t0 += 128) {
    v16 a0 = {}, a1 = {}, a2 = {}, a3 = {}, a4 = {}, a5 = {}, a6 = {}, a7 = {};
    const float* rp = r + t0;
    for (int64_t j = 0; j < L; ++j) {
      const float gj = g[j];
      const float* q = rp + j;
      a0 += gj * load16(q);
      a1 += gj * load16(q + 16);
      a2 += gj * load16(q + 32);
      a3 += gj * load16(q + 48);
      a4 += gj * load16(q + 64);
      a5 += gj * load16(q + 80);
      a6 += gj * load16(q + 96);
      a7 += gj * load16(q + 112);
    }
    std::memcpy(c + t0, &a0, 64);
    std::memcpy(c + t0 + 16, &a1, 64);
    std::memcpy(c + t0 + 32, &a2, 64);
    std::memcpy(c + t0 + 48, &a3, 64);
    std::memcpy(c + t0 + 64, &a4, 64);
    std::memcpy(c + t0 + 80, &a5, 64);
    std::memcpy(c + t0 + 96, &a6, 64);
    std::memcpy(c + t0 + 112, &a7, 64);
  }
  for (; t0 < F; ++t0) {
    float acc = 0.f;
    for (int64_t j = 0; j < L; ++j) acc += g[j] * r[t0 + j];
    c[t0] = acc;
  }
}
// y[i] -= a * x[i], vectorised with a scalar tail.
inline void axpy_neg(float a, const float* x, float* y, int64_t n) {
  int64_t i = 0;
  const v16 av = v16{} + a;
  for (; i + 16 <= n; i += 16) {
    v16 yv = load16(y + i);
    yv -= av * load16(x + i);
    std::memcpy(y + i, &yv, 64);
  }
  for (; i < n; ++i) y[i] -= a * x[i];
}
}  // namespace

GammatoneDictionary::GammatoneDictionary(double fs, int n_kernels, double f_lo, double f_hi,
                                         double tail_db)
    : fs_(fs) {
  require_positive(fs, "fs");
  require(n_kernels >= 1, "n_kernels", "must be >= 1, got " + std::to_string(n_kernels));
  require_positive(f_lo, "f_lo");
  require_finite(f_hi, "f_hi");
  require(f_hi < fs / 2, "f_hi",
          "must be < fs / 2 = " + std::to_string(fs / 2) + ", got " + std::to_string(f_hi));
  require(f_lo < f_hi || (n_kernels == 1 && f_lo <= f_hi), "f_lo",
          "must be < f_hi = " + std::to_string(f_hi) + ", got " + std::to_string(f_lo));
  require_positive(tail_db, "tail_db");
  require(tail_db <= 300.0, "tail_db", "must be <= 300 dB, got " + std::to_string(tail_db));
  cf_ = erb_space(f_lo, f_hi, n_kernels);
  const double floor_rel = std::pow(10.0, -tail_db / 20.0);
  size_t total = 0;
  std::vector<std::vector<double>> ks;
  for (double f : cf_) {
    const double b = 2.0 * kPi * 1.019 * erb_hz(f);
    const double t_peak = 3.0 / b;
    const double env_peak = t_peak * t_peak * t_peak * std::exp(-b * t_peak);
    std::vector<double> k;
    for (int64_t n = 0;; ++n) {
      const double t = double(n) / fs;
      const double env = t * t * t * std::exp(-b * t);
      if (t > t_peak && env < floor_rel * env_peak) break;
      if (n >= (int64_t(1) << 26))
        throw value_error("fs: a kernel would be longer than 2^26 samples (fs = " +
                          std::to_string(fs) + " Hz, tail_db = " + std::to_string(tail_db) + ")");
      k.push_back(env * std::cos(2.0 * kPi * f * t));
    }
    double nrm = 0;
    for (double v : k) nrm += v * v;
    nrm = std::sqrt(nrm);
    for (double& v : k) v /= nrm;
    off_.push_back(total);
    len_.push_back(int(k.size()));
    max_len_ = std::max(max_len_, int(k.size()));
    total += k.size();
    ks.push_back(std::move(k));
  }
  kern_.resize(total);
  for (size_t m = 0; m < ks.size(); ++m)
    for (size_t j = 0; j < ks[m].size(); ++j) kern_[off_[m] + j] = float(ks[m][j]);
  // Gram tables, float64 sums of the float64 kernels.
  const int M = size();
  size_t gtot = 0;
  for (int a = 0; a < M; ++a)
    for (int b = 0; b < M; ++b) {
      gram_off_.push_back(gtot);
      gtot += size_t(len_[size_t(a)] + len_[size_t(b)] - 1);
    }
  gram_.resize(gtot);
  for (int a = 0; a < M; ++a)
    for (int b = 0; b < M; ++b) {
      const auto& g1 = ks[size_t(a)];
      const auto& g2 = ks[size_t(b)];
      const int64_t L1 = int64_t(g1.size()), L2 = int64_t(g2.size());
      float* G = gram_.data() + gram_off_[size_t(a * M + b)];
      if (b < a) {  // symmetry: gram(a, b)[d] = gram(b, a)[-d]
        const float* H = gram_.data() + gram_off_[size_t(b * M + a)];
        for (int64_t k = 0; k < L1 + L2 - 1; ++k) G[k] = H[L1 + L2 - 2 - k];
        continue;
      }
      for (int64_t k = 0; k < L1 + L2 - 1; ++k) {
        const int64_t d = k - (L2 - 1);
        const int64_t j0 = std::max<int64_t>(0, d), j1 = std::min<int64_t>(L1, L2 + d);
        double s = 0;
        for (int64_t j = j0; j < j1; ++j) s += g1[size_t(j)] * g2[size_t(j - d)];
        G[k] = float(s);
      }
    }
}

SpiketrumEncoder::SpiketrumEncoder(std::shared_ptr<const GammatoneDictionary> dict, double rate_hz,
                                   int64_t frame_length, bool positive_only)
    : dict_(std::move(dict)), rate_(rate_hz), frame_len_(frame_length), positive_(positive_only) {
  require_positive(rate_hz, "rate_hz");
  require(frame_length >= 0, "frame_length", "must be >= 0, got " + std::to_string(frame_length));
}

int64_t SpiketrumEncoder::target_spikes(int64_t end_sample) const {
  return int64_t(std::llround(rate_ * double(end_sample) / dict_->fs()));
}

void SpiketrumEncoder::poll(bool now) {
  if (!interrupt_) return;
  const auto t = std::chrono::steady_clock::now();
  if (!now && t - last_poll_ < std::chrono::milliseconds(50)) return;
  last_poll_ = t;
  if (interrupt_()) throw interrupted();
}

void SpiketrumEncoder::guarded(std::vector<SpikeEvent>& out, const std::function<void()>& body) {
  if (!interrupt_) return body();
  // the state before the call, restored when the call is interrupted
  std::vector<float> buf = buf_;
  const int64_t frame_start = frame_start_, n_in = n_in_, n_spikes = n_spikes_;
  const size_t n_out = out.size();
  last_poll_ = std::chrono::steady_clock::now();
  try {
    body();
  } catch (const interrupted&) {
    buf_ = std::move(buf);
    frame_start_ = frame_start;
    n_in_ = n_in;
    n_spikes_ = n_spikes;
    out.resize(n_out);
    throw;
  }
}

void SpiketrumEncoder::push(const float* x, int64_t n, std::vector<SpikeEvent>& out) {
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i]))
      throw value_error("x: samples must be finite, found " + std::to_string(x[i]) + " at index " +
                        std::to_string(n_in_ + i));
  const int64_t look = dict_->max_length() - 1;
  if (frame_len_ == 0 || n_in_ + n - frame_start_ < frame_len_ + look) {  // nothing to encode
    buf_.insert(buf_.end(), x, x + n);
    n_in_ += n;
    return;
  }
  guarded(out, [&] {
    buf_.insert(buf_.end(), x, x + n);
    n_in_ += n;
    encode_ready(out);
  });
}

void SpiketrumEncoder::encode_ready(std::vector<SpikeEvent>& out) {
  const int64_t look = dict_->max_length() - 1;
  while (n_in_ - frame_start_ >= frame_len_ + look) {
    const int64_t budget = target_spikes(frame_start_ + frame_len_) - n_spikes_;
    const size_t before = out.size();
    encode_frame(frame_len_, budget, out);
    for (size_t i = before; i < out.size(); ++i) out[i].t += frame_start_;
    buf_.erase(buf_.begin(), buf_.begin() + frame_len_);
    frame_start_ += frame_len_;
  }
}

void SpiketrumEncoder::flush(std::vector<SpikeEvent>& out) {
  const int64_t look = dict_->max_length() - 1;
  guarded(out, [&] { flush_frames(out, look); });
  buf_.clear();
  frame_start_ = n_in_ = n_spikes_ = 0;
}

void SpiketrumEncoder::flush_frames(std::vector<SpikeEvent>& out, int64_t look) {
  while (n_in_ > frame_start_) {
    const int64_t F =
        frame_len_ == 0 ? n_in_ - frame_start_ : std::min(frame_len_, n_in_ - frame_start_);
    const int64_t end = frame_start_ + F;
    const int64_t budget = target_spikes(end) - n_spikes_;
    buf_.resize(size_t(std::max<int64_t>(int64_t(buf_.size()), F + look)), 0.f);
    const size_t before = out.size();
    encode_frame(F, budget, out);
    for (size_t i = before; i < out.size(); ++i) out[i].t += frame_start_;
    buf_.erase(buf_.begin(), buf_.begin() + F);
    frame_start_ = end;
  }
}

void SpiketrumEncoder::encode_frame(int64_t F, int64_t budget, std::vector<SpikeEvent>& out) {
  if (budget <= 0 || F <= 0) return;
  const GammatoneDictionary& D = *dict_;
  const int M = D.size();
  float* r = buf_.data();  // length >= F + max_length - 1
  // 1. correlations c[m][tau] = sum_j r[tau + j] g_m[j], blocked so the accumulator stays in L1.
  c_.assign(size_t(M) * size_t(F), 0.f);
  for (int m = 0; m < M; ++m) {
    correlate(r, D.kernel(m), D.length(m), c_.data() + size_t(m) * size_t(F), F);
    poll(false);
  }
  // 2. block maxima of the score (|c| or c) in two levels.
  const int64_t nb = (F + kBlock - 1) / kBlock;
  const int64_t n1 = int64_t(M) * nb;
  const int64_t n2 = (n1 + kGroupL2 - 1) / kGroupL2;
  l1_.assign(size_t(n1), 0.f);
  l2_.assign(size_t(n2), 0.f);
  const bool pos = positive_;
  auto score = [pos](float v) { return pos ? v : std::fabs(v); };
  auto refresh_block = [&](int m, int64_t b) {
    const float* cm = c_.data() + size_t(m) * size_t(F);
    const int64_t lo = b * kBlock, hi = std::min(F, lo + kBlock);
    l1_[size_t(m * nb + b)] =
        pos ? score_max<false>(cm + lo, hi - lo) : score_max<true>(cm + lo, hi - lo);
  };
  auto refresh_group = [&](int64_t gi) {
    const int64_t lo = gi * kGroupL2, hi = std::min(n1, lo + kGroupL2);
    l2_[size_t(gi)] = score_max<false>(l1_.data() + lo, hi - lo);
  };
  for (int m = 0; m < M; ++m)
    for (int64_t b = 0; b < nb; ++b) refresh_block(m, b);
  for (int64_t gi = 0; gi < n2; ++gi) refresh_group(gi);
  // 3. greedy atoms with local updates.
  for (int64_t k = 0; k < budget; ++k) {
    if ((k & 63) == 63) poll(false);
    int64_t gbest = 0;
    for (int64_t i = 1; i < n2; ++i)
      if (l2_[size_t(i)] > l2_[size_t(gbest)]) gbest = i;
    int64_t bbest = gbest * kGroupL2;
    for (int64_t i = bbest + 1, e = std::min(n1, gbest * kGroupL2 + kGroupL2); i < e; ++i)
      if (l1_[size_t(i)] > l1_[size_t(bbest)]) bbest = i;
    const int m = int(bbest / nb);
    const int64_t b = bbest % nb;
    const float* cm = c_.data() + size_t(m) * size_t(F);
    int64_t tau = b * kBlock;
    for (int64_t i = tau + 1, e = std::min(F, b * kBlock + kBlock); i < e; ++i)
      if (score(cm[i]) > score(cm[tau])) tau = i;
    float a = cm[tau];
    if (pos && a < 0) a = 0.f;  // nothing positive left: a zero-amplitude spike
    out.push_back(SpikeEvent{tau, int32_t(m), a});
    ++n_spikes_;
    if (a == 0.f) continue;
    const int64_t Lm = D.length(m);
    const float* g = D.kernel(m);
    for (int64_t j = 0; j < Lm; ++j) r[tau + j] -= a * g[j];
    for (int m2 = 0; m2 < M; ++m2) {
      const int64_t L2 = D.length(m2);
      const int64_t lo = std::max<int64_t>(0, tau - (L2 - 1)), hi = std::min<int64_t>(F, tau + Lm);
      if (lo >= hi) continue;
      const float* G = D.gram(m, m2) + (L2 - 1 - tau);
      float* c2 = c_.data() + size_t(m2) * size_t(F);
      axpy_neg(a, G + lo, c2 + lo, hi - lo);
      if (m2 == m) c2[tau] = 0.f;
      for (int64_t bb = lo / kBlock; bb <= (hi - 1) / kBlock; ++bb) refresh_block(m2, bb);
      const int64_t g0 = (m2 * nb + lo / kBlock) / kGroupL2,
                    g1 = (m2 * nb + (hi - 1) / kBlock) / kGroupL2;
      for (int64_t gi = g0; gi <= g1; ++gi) refresh_group(gi);
    }
  }
}

void spiketrum_decode(const GammatoneDictionary& dict, const SpikeEvent* ev, int64_t n_events,
                      float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = 0.f;
  for (int64_t e = 0; e < n_events; ++e) {
    const int m = ev[e].kernel;
    require_index(m, dict.size(), "kernel");
    const int64_t t0 = ev[e].t;
    if (t0 < 0) throw value_error("t: spike times must be >= 0");
    const float* g = dict.kernel(m);
    const int64_t hi = std::min<int64_t>(n, t0 + dict.length(m));
    const float a = ev[e].amp;
    for (int64_t t = t0; t < hi; ++t) out[t] += a * g[t - t0];
  }
}

}  // namespace audio
}  // namespace spikecore
