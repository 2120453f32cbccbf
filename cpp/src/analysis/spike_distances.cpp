// Spike-train distances: see spike_distances.hpp for the equations.
#include "spikecore/analysis/spike_distances.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <thread>

#include "spikecore/core/errors.hpp"

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
  // markage_{i+1} = (markage_i + 1) exp(-(a_{i+1} - a_i) / tau); K = n + 2 sum_i markage_i
  double mark = 0.0, sum = 0.0;
  for (std::size_t i = 1; i < na; ++i) {
    mark = (mark + 1.0) * std::exp((a[i - 1] - a[i]) / tau);
    sum += mark;
  }
  return static_cast<double>(na) + 2.0 * sum;
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
  // before adding a spike at a_i is the markage m_i = sum_{k<i} exp(-(a_i - a_k)/tau), and
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

// PySpike's convention for empty trains: the auxiliary spikes t_start and t_end.
struct NonEmpty {
  double aux[2];
  const double* p;
  std::size_t n;
  NonEmpty(const double* s, std::size_t ns, double t0, double t1) : aux{t0, t1}, p(s), n(ns) {
    if (ns == 0) {
      p = aux;
      n = 2;
    }
  }
};

// min |t - s[i]| over i >= start and the auxiliary edges (pyspike get_min_dist_cython).
inline double min_dist(double t, const double* s, std::size_t n, long start, double e0, double e1) {
  double d = std::fabs(t - e0);
  std::size_t k = start < 0 ? 0 : static_cast<std::size_t>(start);
  for (; k < n; ++k) {
    const double dt = std::fabs(t - s[k]);
    if (dt > d) return d;
    d = dt;
  }
  const double de = std::fabs(e1 - t);
  return de > d ? d : de;
}

inline double dist_at(double isi1, double isi2, double s1, double s2) {
  const double mean = 0.5 * (isi1 + isi2);
  return 0.5 * (s1 * isi2 + s2 * isi1) / (mean * mean);
}

}  // namespace

double isi_distance(const double* a_, std::size_t na_, const double* b_, std::size_t nb_,
                    double t_start, double t_end) {
  const NonEmpty A(a_, na_, t_start, t_end), B(b_, nb_, t_start, t_end);
  const double *s1 = A.p, *s2 = B.p;
  const long N1 = static_cast<long>(A.n), N2 = static_cast<long>(B.n);
  double nu1, nu2;
  long i1, i2;
  if (s1[0] > t_start) {
    nu1 = N1 > 1 ? std::max(s1[0] - t_start, s1[1] - s1[0]) : s1[0] - t_start;
    i1 = -1;
  } else {
    nu1 = N1 > 1 ? s1[1] - s1[0] : t_end - s1[0];
    i1 = 0;
  }
  if (s2[0] > t_start) {
    nu2 = N2 > 1 ? std::max(s2[0] - t_start, s2[1] - s2[0]) : s2[0] - t_start;
    i2 = -1;
  } else {
    nu2 = N2 > 1 ? s2[1] - s2[0] : t_end - s2[0];
    i2 = 0;
  }
  double last = t_start, value = 0.0;
  double cur = std::fabs(nu1 - nu2) / std::max(nu1, nu2);
  auto next1 = [&]() {
    if (i1 < N1 - 1)
      nu1 = s1[i1 + 1] - s1[i1];
    else
      nu1 = N1 > 1 ? std::max(t_end - s1[i1], nu1) : t_end - s1[i1];
  };
  auto next2 = [&]() {
    if (i2 < N2 - 1)
      nu2 = s2[i2 + 1] - s2[i2];
    else
      nu2 = N2 > 1 ? std::max(t_end - s2[i2], nu2) : t_end - s2[i2];
  };
  while (i1 + i2 < N1 + N2 - 2) {
    double t;
    if (i1 < N1 - 1 && (i2 == N2 - 1 || s1[i1 + 1] < s2[i2 + 1])) {
      t = s1[++i1];
      next1();
    } else if (i2 < N2 - 1 && (i1 == N1 - 1 || s1[i1 + 1] > s2[i2 + 1])) {
      t = s2[++i2];
      next2();
    } else {
      ++i1;
      ++i2;
      t = s1[i1];
      next1();
      next2();
    }
    value += cur * (t - last);
    cur = std::fabs(nu1 - nu2) / std::max(nu1, nu2);
    last = t;
  }
  value += cur * (t_end - last);
  return value / (t_end - t_start);
}

double spike_distance(const double* a_, std::size_t na_, const double* b_, std::size_t nb_,
                      double t_start, double t_end) {
  const NonEmpty A(a_, na_, t_start, t_end), B(b_, nb_, t_start, t_end);
  const double *t1 = A.p, *t2 = B.p;
  const long N1 = static_cast<long>(A.n), N2 = static_cast<long>(B.n);
  const double aux1_0 = N1 > 1 ? std::min(t_start, 2 * t1[0] - t1[1]) : t_start;
  const double aux1_1 = N1 > 1 ? std::max(t_end, 2 * t1[N1 - 1] - t1[N1 - 2]) : t_end;
  const double aux2_0 = N2 > 1 ? std::min(t_start, 2 * t2[0] - t2[1]) : t_start;
  const double aux2_1 = N2 > 1 ? std::max(t_end, 2 * t2[N2 - 1] - t2[N2 - 2]) : t_end;
  double t_p1 = t1[0] == t_start ? t_start : aux1_0;
  double t_p2 = t2[0] == t_start ? t_start : aux2_0;
  double t_f1, t_f2, dt_f1, dt_f2, dt_p1, dt_p2, isi1, isi2, s1, s2;
  long i1, i2;
  if (t1[0] > t_start) {
    t_f1 = t1[0];
    dt_f1 = min_dist(t_f1, t2, N2, 0, aux2_0, aux2_1);
    isi1 = N1 > 1 ? std::max(t_f1 - t_start, t1[1] - t1[0]) : t_f1 - t_start;
    dt_p1 = dt_f1;
    s1 = dt_p1;
    i1 = -1;
  } else {
    t_f1 = N1 > 1 ? t1[1] : t_end;
    dt_f1 = min_dist(t_f1, t2, N2, 0, aux2_0, aux2_1);
    dt_p1 = min_dist(t_p1, t2, N2, 0, aux2_0, aux2_1);
    isi1 = t_f1 - t1[0];
    s1 = dt_p1;
    i1 = 0;
  }
  if (t2[0] > t_start) {
    t_f2 = t2[0];
    dt_f2 = min_dist(t_f2, t1, N1, 0, aux1_0, aux1_1);
    dt_p2 = dt_f2;
    isi2 = N2 > 1 ? std::max(t_f2 - t_start, t2[1] - t2[0]) : t_f2 - t_start;
    s2 = dt_p2;
    i2 = -1;
  } else {
    t_f2 = N2 > 1 ? t2[1] : t_end;
    dt_f2 = min_dist(t_f2, t1, N1, 0, aux1_0, aux1_1);
    dt_p2 = min_dist(t_p2, t1, N1, 0, aux1_0, aux1_1);
    isi2 = t_f2 - t2[0];
    s2 = dt_p2;
    i2 = 0;
  }
  double y_start = dist_at(isi1, isi2, s1, s2), y_end, value = 0.0, t_last = t_start,
         t_curr = t_start;
  while (i1 + i2 < N1 + N2 - 2) {
    if (i1 < N1 - 1 && (t_f1 < t_f2 || i2 == N2 - 1)) {
      ++i1;
      s1 = dt_f1 * (t_f1 - t_p1) / isi1;
      dt_p1 = dt_f1;
      t_p1 = t_f1;
      t_f1 = i1 < N1 - 1 ? t1[i1 + 1] : aux1_1;
      t_curr = t_p1;
      s2 = (dt_p2 * (t_f2 - t_p1) + dt_f2 * (t_p1 - t_p2)) / isi2;
      y_end = dist_at(isi1, isi2, s1, s2);
      value += 0.5 * (y_start + y_end) * (t_curr - t_last);
      if (i1 < N1 - 1) {
        dt_f1 = min_dist(t_f1, t2, N2, i2, aux2_0, aux2_1);
        isi1 = t_f1 - t_p1;
      } else {
        dt_f1 = dt_p1;
        isi1 = N1 > 1 ? std::max(t_end - t1[N1 - 1], t1[N1 - 1] - t1[N1 - 2]) : t_end - t1[N1 - 1];
      }
      s1 = dt_p1;
      y_start = dist_at(isi1, isi2, s1, s2);
    } else if (i2 < N2 - 1 && (t_f1 > t_f2 || i1 == N1 - 1)) {
      ++i2;
      s2 = dt_f2 * (t_f2 - t_p2) / isi2;
      dt_p2 = dt_f2;
      t_p2 = t_f2;
      t_f2 = i2 < N2 - 1 ? t2[i2 + 1] : aux2_1;
      t_curr = t_p2;
      s1 = (dt_p1 * (t_f1 - t_p2) + dt_f1 * (t_p2 - t_p1)) / isi1;
      y_end = dist_at(isi1, isi2, s1, s2);
      value += 0.5 * (y_start + y_end) * (t_curr - t_last);
      if (i2 < N2 - 1) {
        dt_f2 = min_dist(t_f2, t1, N1, i1, aux1_0, aux1_1);
        isi2 = t_f2 - t_p2;
      } else {
        dt_f2 = dt_p2;
        isi2 = N2 > 1 ? std::max(t_end - t2[N2 - 1], t2[N2 - 1] - t2[N2 - 2]) : t_end - t2[N2 - 1];
      }
      s2 = dt_p2;
      y_start = dist_at(isi1, isi2, s1, s2);
    } else {  // t_f1 == t_f2: one event
      ++i1;
      ++i2;
      t_p1 = t_f1;
      t_p2 = t_f2;
      dt_p1 = 0.0;
      dt_p2 = 0.0;
      t_curr = t_f1;
      value += 0.5 * y_start * (t_curr - t_last);
      y_start = 0.0;
      if (i1 < N1 - 1) {
        t_f1 = t1[i1 + 1];
        dt_f1 = min_dist(t_f1, t2, N2, i2, aux2_0, aux2_1);
        isi1 = t_f1 - t_p1;
      } else {
        t_f1 = aux1_1;
        dt_f1 = dt_p1;
        isi1 = N1 > 1 ? std::max(t_end - t1[N1 - 1], t1[N1 - 1] - t1[N1 - 2]) : t_end - t1[N1 - 1];
      }
      if (i2 < N2 - 1) {
        t_f2 = t2[i2 + 1];
        dt_f2 = min_dist(t_f2, t1, N1, i1, aux1_0, aux1_1);
        isi2 = t_f2 - t_p2;
      } else {
        t_f2 = aux2_1;
        dt_f2 = dt_p2;
        isi2 = N2 > 1 ? std::max(t_end - t2[N2 - 1], t2[N2 - 1] - t2[N2 - 2]) : t_end - t2[N2 - 1];
      }
    }
    t_last = t_curr;
  }
  y_end = dist_at(isi1, isi2, dt_f1, dt_f2);
  value += 0.5 * (y_start + y_end) * (t_end - t_last);
  return value / (t_end - t_start);
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
  for (std::size_t w = 0; w < workers; ++w) pool.emplace_back(rows, w, workers);
  for (auto& t : pool) t.join();
}

}  // namespace spikecore::analysis
