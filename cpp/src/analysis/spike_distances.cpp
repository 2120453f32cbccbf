// Spike-train distances: see spike_distances.hpp for the equations.
#include "spikecore/analysis/spike_distances.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <thread>

#include "spikecore/core/errors.hpp"
#include "spikecore/core/thread_pool.hpp"

namespace spikecore::analysis {

void check_train(const double* t, std::size_t n, double t_start, double t_end, const char* name) {
  const bool ranged = t_start < t_end;
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isfinite(t[i])) throw value_error(message(name, "spike times must be finite"));
    if (i > 0 && t[i] < t[i - 1])
      throw value_error(
          message(name, "spike times must be sorted ascending (index " + std::to_string(i) + ")"));
    if (ranged && (t[i] < t_start || t[i] > t_end))
      throw value_error(
          message(name, "spike time " + std::to_string(t[i]) + " lies outside [t_start, t_end]"));
  }
}

void check_csr(const long long* offsets, std::size_t n_offsets, std::size_t n_times,
               const char* name) {
  require(n_offsets >= 1 && offsets[0] == 0, name, "must start with 0");
  for (std::size_t k = 1; k < n_offsets; ++k)
    require(offsets[k] >= offsets[k - 1], name, "must be non-decreasing");
  require(static_cast<std::size_t>(offsets[n_offsets - 1]) == n_times, name,
          "last offset must equal the number of spike times");
}

double vr_self_sum(const double* a, std::size_t na, double tau) {
  // K(a, a) = n + 2 sum_i m_i with m_i = sum_{k<i} exp(-(a_i - a_k)/tau) (Houghton & Kreuz 2012);
  // m_i = (m_{i-1} + 1) exp(-(a_i - a_{i-1})/tau), m_0 = 0.
  double m = 0.0, m_sum = 0.0;
  for (std::size_t i = 1; i < na; ++i) {
    m = (m + 1.0) * std::exp((a[i - 1] - a[i]) / tau);
    m_sum += m;
  }
  return static_cast<double>(na) + 2.0 * m_sum;
}

double vr_kernel_sum(const double* a, std::size_t na, const double* b, std::size_t nb, double tau) {
  // Merged sweep. acc_a(t) = sum_{a_i <= t} exp(-(t - a_i)/tau), carried from event to event.
  // A b-spike at t collects acc_a(t) (a_i <= t); an a-spike at t collects acc_b(t^-) (b_j < t),
  // so each pair counts once, ties with the b-side.
  double acc_a = 0.0, acc_b = 0.0, ta = 0.0, tb = 0.0, sum = 0.0;
  std::size_t i = 0, j = 0;
  bool has_a = false, has_b = false;
  while (i < na || j < nb) {
    if (j >= nb || (i < na && a[i] <= b[j])) {
      const double t = a[i++];
      if (has_b) sum += acc_b * std::exp((tb - t) / tau);
      acc_a = has_a ? acc_a * std::exp((ta - t) / tau) + 1.0 : 1.0;
      ta = t;
      has_a = true;
    } else {
      const double t = b[j++];
      if (has_a) sum += acc_a * std::exp((ta - t) / tau);
      acc_b = has_b ? acc_b * std::exp((tb - t) / tau) + 1.0 : 1.0;
      tb = t;
      has_b = true;
    }
  }
  return sum;
}

double van_rossum(const double* a, std::size_t na, const double* b, std::size_t nb, double tau) {
  // One merged sweep computes all three sums with one exp per spike: both accumulators
  // acc_x(t) = sum_{x_k <= t} exp(-(t - x_k)/tau) are carried to the current spike time. acc_a just
  // before adding a spike at a_i is m_i = sum_{k<i} exp(-(a_i - a_k)/tau), and
  // K(a, a) = n_a + 2 sum_i m_i. Ties: the a-spike goes first, so a tied pair counts once.
  const double inv_tau = 1.0 / tau;
  double acc_a = 0.0, acc_b = 0.0, t_prev = 0.0, cross = 0.0, self_a = 0.0, self_b = 0.0;
  std::size_t i = 0, j = 0;
  while (i < na || j < nb) {
    const bool from_a = j >= nb || (i < na && a[i] <= b[j]);
    const double t = from_a ? a[i++] : b[j++];
    const double f = (i + j > 1) ? std::exp((t_prev - t) * inv_tau) : 0.0;
    acc_a *= f;
    acc_b *= f;
    if (from_a) {
      cross += acc_b;
      self_a += acc_a;
      acc_a += 1.0;
    } else {
      cross += acc_a;
      self_b += acc_b;
      acc_b += 1.0;
    }
    t_prev = t;
  }
  const double d2 = (static_cast<double>(na) + 2.0 * self_a) +
                    (static_cast<double>(nb) + 2.0 * self_b) - 2.0 * cross;
  return std::sqrt(std::max(d2, 0.0));
}

double victor_purpura(const double* a, std::size_t na, const double* b, std::size_t nb, double q,
                      std::vector<double>& row) {
  // G[i][j] = min(G[i-1][j] + 1, G[i][j-1] + 1, G[i-1][j-1] + min(q |a_i - b_j|, 2))
  if (na == 0) return static_cast<double>(nb);
  if (nb == 0) return static_cast<double>(na);
  row.resize(nb + 1);
  for (std::size_t j = 0; j <= nb; ++j) row[j] = static_cast<double>(j);
  for (std::size_t i = 1; i <= na; ++i) {
    double diag = row[0];  // G[i-1][0]
    row[0] = static_cast<double>(i);
    const double ai = a[i - 1];
    for (std::size_t j = 1; j <= nb; ++j) {
      const double up = row[j];  // G[i-1][j]
      const double shift = std::min(q * std::fabs(ai - b[j - 1]), 2.0);
      row[j] = std::min(std::min(up, row[j - 1]) + 1.0, diag + shift);
      diag = up;
    }
  }
  return row[nb];
}

namespace {

// One spike train s_1 < ... < s_n inside the window [t0, t1], read as a sequence of knots
//   tau_0 = min(t0, 2 s_1 - s_2),  tau_k = s_k (k = 1..n),  tau_{n+1} = max(t1, 2 s_n - s_{n-1})
// (tau_0 = t0 and tau_{n+1} = t1 when n = 1); an empty train is read as the two spikes t0, t1.
// The outer knots are the auxiliary edge spikes of Kreuz et al. 2013 with the edge correction of
// Mulansky & Kreuz 2016: the interval around any t in [t0, t1] is tau_{k+1} - tau_k for the k with
// tau_k <= t < tau_{k+1}, which is
//   before the first spike: x_isi = max(s_1 - t0, s_2 - s_1),
//   after the last spike:   x_isi = max(t1 - s_n, s_n - s_{n-1}),
// and the plain inter-spike interval elsewhere.
class EdgeTrain {
 public:
  EdgeTrain(const double* spikes, std::size_t n, double t0, double t1) {
    const double empty[2] = {t0, t1};
    if (n == 0) {
      spikes = empty;
      n = 2;
    }
    n_ = n;
    knots_.resize(n + 2);
    knots_[0] = n > 1 ? std::min(t0, 2.0 * spikes[0] - spikes[1]) : t0;
    std::copy(spikes, spikes + n, knots_.begin() + 1);
    knots_[n + 1] = n > 1 ? std::max(t1, 2.0 * spikes[n - 1] - spikes[n - 2]) : t1;
  }

  std::size_t spikes() const { return n_; }  // n (2 for an empty train)
  std::size_t last_knot() const { return n_ + 1; }
  double knot(std::size_t k) const { return knots_[k]; }
  // The k of the interval [tau_k, tau_{k+1}) that holds t0 (k <= n).
  std::size_t interval_at_start(double t0) const {
    std::size_t k = 0;
    while (k < n_ && knots_[k + 1] <= t0) ++k;
    return k;
  }
  double isi(std::size_t k) const { return knots_[k + 1] - knots_[k]; }

 private:
  std::vector<double> knots_;  // tau_0 .. tau_{n+1}
  std::size_t n_ = 0;
};

// Sweeps [t0, t1] over the union of both trains' knots. At each step, [t, t_next] lies inside one
// interval [tau_k, tau_{k+1}) of each train; `visit(t, t_next, kx, ky)` integrates over it.
template <class Visit>
void sweep(const EdgeTrain& x, const EdgeTrain& y, double t0, double t1, Visit visit) {
  std::size_t kx = x.interval_at_start(t0), ky = y.interval_at_start(t0);
  double t = t0;
  while (t < t1) {
    const double t_next = std::min(std::min(x.knot(kx + 1), y.knot(ky + 1)), t1);
    visit(t, t_next, kx, ky);
    // step past every knot at t_next; the interval after the last spike is never left
    if (x.knot(kx + 1) == t_next && kx + 1 < x.last_knot()) ++kx;
    if (y.knot(ky + 1) == t_next && ky + 1 < y.last_knot()) ++ky;
    t = t_next;
  }
}

// delta[k] = min_j |tau_k^x - tau_j^y|: each knot's distance to the nearest knot of the other
// train (the other train's edge spikes included), by one merged pass over both sorted sequences.
// The edge knots take the distance of the spike next to them (Mulansky & Kreuz 2016), so the
// spike dissimilarity is constant before the first spike and after the last.
void nearest_distances(const EdgeTrain& x, const EdgeTrain& y, std::vector<double>& delta) {
  const std::size_t last = x.last_knot();
  delta.resize(last + 1);
  std::size_t j = 0;  // the last knot of y at or before the current knot of x
  for (std::size_t k = 1; k < last; ++k) {
    const double t = x.knot(k);
    while (j < y.last_knot() && y.knot(j + 1) <= t) ++j;
    double d = std::fabs(t - y.knot(j));
    if (j < y.last_knot()) d = std::min(d, std::fabs(y.knot(j + 1) - t));
    delta[k] = d;
  }
  delta[0] = delta[1];
  delta[last] = delta[last - 1];
}

// min_j |t - tau_j^y| by a scan (used once per pair at most).
double distance_to_knots(double t, const EdgeTrain& y) {
  double d = std::fabs(t - y.knot(0));
  for (std::size_t j = 1; j <= y.last_knot(); ++j) d = std::min(d, std::fabs(t - y.knot(j)));
  return d;
}

}  // namespace

double isi_distance(const double* a, std::size_t na, const double* b, std::size_t nb,
                    double t_start, double t_end) {
  // D_I = 1/(t_end - t_start) * int I(t) dt,  I(t) = |x_isi(t) - y_isi(t)| / max(x_isi, y_isi)
  // (Kreuz et al. 2007). I is constant between knots, so the integral is a sum of rectangles.
  // The rectangles are summed as fractions of the window, (t_next - t) / (t_end - t_start), so
  // neither a huge nor a tiny window over- or underflows the sum (it was 0 / 0 = NaN for a
  // window of 1e-217).
  const EdgeTrain x(a, na, t_start, t_end), y(b, nb, t_start, t_end);
  const double span = t_end - t_start;
  double integral = 0.0;
  sweep(x, y, t_start, t_end, [&](double t, double t_next, std::size_t kx, std::size_t ky) {
    const double x_isi = x.isi(kx), y_isi = y.isi(ky);
    integral += std::fabs(x_isi - y_isi) / std::max(x_isi, y_isi) * ((t_next - t) / span);
  });
  return integral;
}

double spike_distance(const double* a, std::size_t na, const double* b, std::size_t nb,
                      double t_start, double t_end) {
  // Kreuz et al. 2013. For train n at time t in the interval [t_P, t_F) (x_isi = t_F - t_P) with
  // distances Delta_P, Delta_F of its previous and following spike to the other train,
  //   S_n(t) = (Delta_P (t_F - t) + Delta_F (t - t_P)) / x_isi            (linear in t),
  //   S(t)   = (S_1 x_isi^(2) + S_2 x_isi^(1)) / (2 <x_isi>^2),  <x_isi> = (x_isi^(1) + x_isi^(2))
  //   / 2, D_S    = 1/(t_end - t_start) * int S(t) dt.
  // Between two consecutive knots of the merged trains S is linear, so the trapezoid rule on the
  // one-sided limits at the knots is exact.
  const EdgeTrain x(a, na, t_start, t_end), y(b, nb, t_start, t_end);
  std::vector<double> delta_x, delta_y;
  nearest_distances(x, y, delta_x);
  nearest_distances(y, x, delta_y);
  // A lone spike exactly at t_start: its one interval runs to t_end, which then counts as a spike
  // of its own (its distance to the other train) rather than an edge knot (PySpike's convention).
  if (na == 1 && a[0] == t_start) delta_x[2] = distance_to_knots(t_end, y);
  if (nb == 1 && b[0] == t_start) delta_y[2] = distance_to_knots(t_end, x);
  auto dissimilarity = [](const EdgeTrain& z, const std::vector<double>& delta, std::size_t k,
                          double t) {
    const double t_p = z.knot(k), t_f = z.knot(k + 1);
    const double w = (t - t_p) / (t_f - t_p);  // in [0, 1]: no product of two times
    return delta[k] * (1.0 - w) + delta[k + 1] * w;
  };
  // S = (S_1 y + S_2 x) / (2 m^2) is evaluated as ((S_1 / m)(y / m) + (S_2 / m)(x / m)) / 2 and
  // the trapezoids are summed as fractions of the window: no square of an interval, which
  // over- or underflows double for intervals beyond 1e154 or below 1e-154 (NaN).
  const double span = t_end - t_start;
  double integral = 0.0;
  sweep(x, y, t_start, t_end, [&](double t, double t_next, std::size_t kx, std::size_t ky) {
    const double x_isi = x.isi(kx), y_isi = y.isi(ky);
    const double mean_isi = 0.5 * x_isi + 0.5 * y_isi;
    const double rx = x_isi / mean_isi, ry = y_isi / mean_isi;
    auto s = [&](double u) {
      return 0.5 * (dissimilarity(x, delta_x, kx, u) / mean_isi * ry +
                    dissimilarity(y, delta_y, ky, u) / mean_isi * rx);
    };
    integral += 0.5 * (s(t) + s(t_next)) * ((t_next - t) / span);
  });
  return integral;
}

void distance_matrix(Metric metric, const double* times, const long long* offsets, std::size_t n,
                     double param, double t_start, double t_end, double* out, int n_threads) {
  std::vector<double> self(n, 0.0);
  auto train = [&](std::size_t k, std::size_t* len) {
    *len = static_cast<std::size_t>(offsets[k + 1] - offsets[k]);
    return times + offsets[k];
  };
  if (metric == Metric::van_rossum)
    for (std::size_t k = 0; k < n; ++k) {
      std::size_t len;
      const double* p = train(k, &len);
      self[k] = vr_self_sum(p, len, param);
    }
  auto rows = [&](std::size_t worker, std::size_t workers) {
    std::vector<double> scratch;
    for (std::size_t i = worker; i < n; i += workers) {
      out[i * n + i] = 0.0;
      std::size_t li;
      const double* a = train(i, &li);
      for (std::size_t j = i + 1; j < n; ++j) {
        std::size_t lj;
        const double* b = train(j, &lj);
        double d = 0.0;
        switch (metric) {
          case Metric::van_rossum:
            d = std::sqrt(
                std::max(self[i] + self[j] - 2.0 * vr_kernel_sum(a, li, b, lj, param), 0.0));
            break;
          case Metric::victor_purpura:
            d = victor_purpura(a, li, b, lj, param, scratch);
            break;
          case Metric::isi:
            d = isi_distance(a, li, b, lj, t_start, t_end);
            break;
          case Metric::spike:
            d = spike_distance(a, li, b, lj, t_start, t_end);
            break;
        }
        out[i * n + j] = out[j * n + i] = d;
      }
    }
  };
  const std::size_t workers =
      std::max<std::size_t>(1, std::min<std::size_t>(static_cast<std::size_t>(n_threads), n));
  if (workers == 1) {
    rows(0, 1);
    return;
  }
  std::vector<std::thread> pool;
  pool.reserve(workers);
  try {
    for (std::size_t w = 0; w < workers; ++w) pool.emplace_back(rows, w, workers);
  } catch (const std::exception& e) {
    // join the rows already started (a joinable std::thread's destructor terminates), then report
    const std::size_t started = pool.size();
    for (auto& t : pool) t.join();
    throw thread_start_error(int(workers), started, e);
  }
  for (auto& t : pool) t.join();
}

}  // namespace spikecore::analysis
