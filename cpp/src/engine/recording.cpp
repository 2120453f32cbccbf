// Monitors: spike, state and rate recorders, filled by the run loop.
#include "spikecore/engine/network.hpp"

#include <algorithm>

#include "spikecore/core/errors.hpp"

namespace spikecore {

int32_t Network::record_spikes(int32_t pop) {
  (void)population(pop);
  SpikeRecord r;
  r.pop = pop;
  spike_recs_.push_back(std::move(r));
  return int32_t(spike_recs_.size() - 1);
}

int32_t Network::record_state(int32_t pop, const std::vector<int32_t>& vars,
                              const std::vector<int32_t>& idx, int64_t every) {
  const Population& p = population(pop);
  require(every >= 1, "every", "must be >= 1 step");
  require(!vars.empty(), "variables", "must name at least one variable");
  for (int32_t v : vars) {
    require(v >= 0 && v <= 5, "variables",
            v == 6 ? "branch potentials u cannot be recorded; read them with get_state"
                   : "unknown state variable");
    require(v != 5 || p.model == NeuronModel::CELIF, "variables",
            "c (context) exists only in CE-LIF populations");
  }
  for (size_t k = 0; k < idx.size(); ++k) {
    require_index(idx[k], p.n, "neurons");
    require(k == 0 || idx[k] > idx[k - 1], "neurons", "must be strictly increasing");
  }
  StateRecord r;
  r.pop = pop;
  r.vars = vars;
  r.idx = idx;
  r.every = every;
  r.start = step_;
  state_recs_.push_back(std::move(r));
  return int32_t(state_recs_.size() - 1);
}

int32_t Network::record_rate(int32_t pop) {
  (void)population(pop);
  RateRecord r;
  r.pop = pop;
  r.start = step_;
  rate_recs_.push_back(std::move(r));
  return int32_t(rate_recs_.size() - 1);
}

SpikeRecord& Network::spike_record(int32_t r) {
  require_index(r, int64_t(spike_recs_.size()), "recorder");
  return spike_recs_[size_t(r)];
}
StateRecord& Network::state_record(int32_t r) {
  require_index(r, int64_t(state_recs_.size()), "recorder");
  return state_recs_[size_t(r)];
}
RateRecord& Network::rate_record(int32_t r) {
  require_index(r, int64_t(rate_recs_.size()), "recorder");
  return rate_recs_[size_t(r)];
}

void Network::restore_spikes(int32_t r, const int64_t* step, const int32_t* id, int64_t n) {
  SpikeRecord& sr = spike_record(r);
  const Population& p = population(sr.pop);
  for (int64_t k = 0; k < n; ++k) {
    require_index(id[k], p.n, "neurons");
    require(step[k] >= 0 && step[k] < step_ && (k == 0 || step[k] >= step[k - 1]), "steps",
            "recorded spike steps must be sorted and lie in [0, step)");
  }
  sr.step.assign(step, step + n);
  sr.id.assign(id, id + n);
}

void Network::restore_state_record(int32_t r, int64_t start, const int64_t* steps,
                                   int64_t n_steps, const float* data, int64_t n_data) {
  StateRecord& sr = state_record(r);
  require(start >= 0 && start <= step_, "start", "must lie in [0, step]");
  require(n_steps >= 0 && n_data == n_steps * int64_t(sr.vars.size() * sr.idx.size()), "data",
          "size must be steps x variables x neurons");
  for (int64_t k = 0; k < n_steps; ++k)
    require(steps[k] >= start && steps[k] < step_ && (steps[k] - start) % sr.every == 0 &&
                (k == 0 || steps[k] > steps[k - 1]),
            "steps", "recorded steps must be start + k every, increasing, in [start, step)");
  sr.start = start;
  sr.step.assign(steps, steps + n_steps);
  sr.data.assign(data, data + n_data);
}

void Network::restore_rate(int32_t r, int64_t start, const int32_t* count, int64_t n) {
  RateRecord& rr = rate_record(r);
  require(start >= 0 && start <= step_, "start", "must lie in [0, step]");
  require(n == step_ - start, "counts", "must hold one count per step since start");
  rr.start = start;
  rr.count.assign(count, count + n);
}

void Network::prepare_records(int64_t n_steps) {
  // state recorders: rows for the steps of this run
  const int64_t t0 = step_, t1 = step_ + n_steps;
  for (auto& r : state_recs_) {
    const int64_t first = std::max(r.start, t0);
    int64_t s = r.start + ((first - r.start + r.every - 1) / r.every) * r.every;
    for (; s < t1; s += r.every) r.step.push_back(s);
    const size_t per = r.vars.size() * r.idx.size();
    r.data.resize(r.step.size() * per, 0.f);
  }
  for (auto& r : rate_recs_) r.count.resize(size_t(t1 - r.start), 0);
}

std::vector<size_t> Network::state_record_rows(int64_t t) const {
  std::vector<size_t> rows(state_recs_.size());
  for (size_t r = 0; r < state_recs_.size(); ++r) {
    const auto& sr = state_recs_[r];
    rows[r] = size_t(std::lower_bound(sr.step.begin(), sr.step.end(), t) - sr.step.begin());
  }
  return rows;
}

// State recorders due at step t: each thread writes the recorded neurons of its own block.
void Network::record_state_block(int rank, int64_t t, std::vector<size_t>& next_row) {
  for (size_t r = 0; r < state_recs_.size(); ++r) {
    StateRecord& sr = state_recs_[r];
    if (next_row[r] >= sr.step.size() || sr.step[next_row[r]] != t) continue;
    const Population& p = pops_[size_t(sr.pop)];
    int64_t lo, hi;
    thread_block(p.n, rank, lo, hi);
    const size_t ni = sr.idx.size();
    float* row = sr.data.data() + next_row[r] * sr.vars.size() * ni;
    const auto b = std::lower_bound(sr.idx.begin(), sr.idx.end(), int32_t(lo));
    for (auto it = b; it != sr.idx.end() && *it < hi; ++it) {
      const size_t col = size_t(it - sr.idx.begin());
      for (size_t v = 0; v < sr.vars.size(); ++v) {
        float x = 0;
        switch (StateVar(sr.vars[v])) {
          case StateVar::V:
            x = p.s.v[size_t(*it)];
            break;
          case StateVar::IEx:
            x = p.s.i_ex[size_t(*it)];
            break;
          case StateVar::IIn:
            x = p.s.i_in[size_t(*it)];
            break;
          case StateVar::A:
            x = p.a[size_t(*it)];
            break;
          case StateVar::Ref:
            x = float(p.s.ref[size_t(*it)]);
            break;
          case StateVar::C:
            x = p.ce.c[size_t(*it)];
            break;
          default:
            break;
        }
        row[v * ni + col] = x;
      }
    }
    ++next_row[r];
  }
}

// Spikes and rates of step t (window parity par, step s of the window); thread 0 only.
void Network::record_spike_step(int par, int s, int64_t t) {
  for (auto& sr : spike_recs_) {
    for (const auto& l : spikes_[par][size_t(sr.pop)]) {
      for (int32_t x = l.off[size_t(s)]; x < l.off[size_t(s) + 1]; ++x) {
        sr.step.push_back(t);
        sr.id.push_back(l.v[size_t(x)]);
      }
    }
  }
  for (auto& rr : rate_recs_) {
    if (t < rr.start) continue;
    int32_t c = 0;
    for (const auto& l : spikes_[par][size_t(rr.pop)]) c += l.off[size_t(s) + 1] - l.off[size_t(s)];
    rr.count[size_t(t - rr.start)] = c;
  }
}

}  // namespace spikecore
