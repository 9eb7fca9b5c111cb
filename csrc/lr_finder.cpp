#include <torch/optim/adagrad.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/rmsprop.h>
#include <torch/optim/sgd.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>
#include <torch/utils.h>
#include <torchclr/lr_finder.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <memory>
#include <sstream>
#include <type_traits>
#include <typeinfo>
#include <unordered_map>
#include <utility>

#include "compat.h"

namespace torchclr {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void validate(const RangeTestOptions& options) {
  TORCH_CHECK(std::isfinite(options.start_lr()) && options.start_lr() > 0,
              "LRFinder: expected start_lr to be positive and finite, but got ",
              options.start_lr());
  TORCH_CHECK(std::isfinite(options.end_lr()) && options.end_lr() > 0,
              "LRFinder: expected end_lr to be positive and finite, but got ", options.end_lr());
  TORCH_CHECK(options.start_lr() < options.end_lr(),
              "LRFinder: expected start_lr < end_lr, but got start_lr ", options.start_lr(),
              " and end_lr ", options.end_lr());
  TORCH_CHECK(options.num_iters() >= 2, "LRFinder: expected num_iters >= 2, but got ",
              options.num_iters());
  TORCH_CHECK(options.smoothing_beta() >= 0 && options.smoothing_beta() < 1,
              "LRFinder: expected smoothing_beta in [0, 1), but got ", options.smoothing_beta());
  TORCH_CHECK(options.diverge_threshold() > 1, "LRFinder: expected diverge_threshold > 1, but got ",
              options.diverge_threshold());
  TORCH_CHECK(options.accumulation_steps() >= 1,
              "LRFinder: expected accumulation_steps >= 1, but got ", options.accumulation_steps());
  TORCH_CHECK(options.eval_every() >= 1, "LRFinder: expected eval_every >= 1, but got ",
              options.eval_every());
}

void check_loss(const torch::Tensor& loss) {
  TORCH_CHECK(loss.defined(),
              "LRFinder: expected train_step to return a scalar loss, but got "
              "an undefined tensor");
  TORCH_CHECK(loss.numel() == 1,
              "LRFinder: expected train_step to return a scalar loss, but got a tensor of shape ",
              loss.sizes());
  TORCH_CHECK(loss.requires_grad(),
              "LRFinder: expected train_step to return a loss that requires grad, but got one "
              "without grad (computed under NoGradGuard, or from detached tensors?)");
}

/// LR of each param group divided by that of the first.
std::vector<double> group_scales(torch::optim::Optimizer& optimizer) {
  auto& groups = optimizer.param_groups();
  TORCH_CHECK(!groups.empty(),
              "LRFinder: expected an optimizer with at least one param group, "
              "but got none");
  std::vector<double> scales(groups.size(), 1.0);
  if (groups.size() == 1) {
    return scales;
  }
  const double first = groups[0].options().get_lr();
  for (size_t g = 0; g < groups.size(); ++g) {
    const double lr = groups[g].options().get_lr();
    TORCH_CHECK(std::isfinite(lr) && lr > 0,
                "LRFinder: expected positive LRs in every param group to keep their ratios, but "
                "got ",
                lr, " for param group ", g);
    scales[g] = lr / first;
  }
  return scales;
}

using compat::StateKey;
using compat::StateMap;
using TensorMap = std::function<torch::Tensor(const torch::Tensor&)>;

template <typename State, typename MapFields>
std::unique_ptr<torch::optim::OptimizerParamState> map_typed(
    const torch::optim::OptimizerParamState& state, MapFields map_fields) {
  if (typeid(state) != typeid(State)) {  // exact type: a subclass may hold more
    return nullptr;
  }
  auto copy = std::make_unique<State>(static_cast<const State&>(state));
  map_fields(*copy);
  return copy;
}

/// A copy of `state` with every tensor replaced by `f(tensor)`, for the param states of
/// LibTorch's SGD, Adam, AdamW, RMSprop and Adagrad; nullptr for any other type.
std::unique_ptr<torch::optim::OptimizerParamState> map_state(
    const torch::optim::OptimizerParamState& state, const TensorMap& f) {
  using namespace torch::optim;
  auto m = [&](const torch::Tensor& t) { return t.defined() ? f(t) : t; };
  std::unique_ptr<OptimizerParamState> out;
  if ((out = map_typed<SGDParamState>(
           state, [&](SGDParamState& s) { s.momentum_buffer(m(s.momentum_buffer())); }))) {
    return out;
  }
  if ((out = map_typed<AdamParamState>(state, [&](AdamParamState& s) {
         s.exp_avg(m(s.exp_avg()));
         s.exp_avg_sq(m(s.exp_avg_sq()));
         s.max_exp_avg_sq(m(s.max_exp_avg_sq()));
       }))) {
    return out;
  }
  if ((out = map_typed<AdamWParamState>(state, [&](AdamWParamState& s) {
         s.exp_avg(m(s.exp_avg()));
         s.exp_avg_sq(m(s.exp_avg_sq()));
         s.max_exp_avg_sq(m(s.max_exp_avg_sq()));
       }))) {
    return out;
  }
  if ((out = map_typed<RMSpropParamState>(state, [&](RMSpropParamState& s) {
         s.square_avg(m(s.square_avg()));
         s.momentum_buffer(m(s.momentum_buffer()));
         s.grad_avg(m(s.grad_avg()));
       }))) {
    return out;
  }
  return map_typed<AdagradParamState>(state, [&](AdagradParamState& s) { s.sum(m(s.sum())); });
}

/// Everything a range test changes, kept on the CPU (or in a file) and put back bitwise.
class Snapshot {
 public:
  Snapshot(torch::nn::Module& model, torch::optim::Optimizer& optimizer, std::string path)
      : model_(model), optimizer_(optimizer), path_(std::move(path)) {
    training_.push_back(model.is_training());
    for (const auto& child : model.named_modules("", /*include_self=*/false)) {
      training_.push_back(child.value()->is_training());
    }
    for (const auto& group : optimizer.param_groups()) {
      options_.push_back(group.options().clone());
    }
    const auto params = model.parameters();
    const auto buffers = model.buffers();
    if (path_.empty()) {
      params_ = cpu_copies(params);
      buffers_ = cpu_copies(buffers);
      if (!copy_state(optimizer.state(), state_, cpu_copy)) {
        // An optimizer of another type: its own serialization knows its state.
        torch::serialize::OutputArchive optimizer_archive;
        optimizer.save(optimizer_archive);
        std::ostringstream stream;
        optimizer_archive.save_to(stream);
        optimizer_bytes_ = stream.str();
        state_.clear();
        serialized_ = true;
      }
    } else {
      torch::serialize::OutputArchive optimizer_archive;
      optimizer.save(optimizer_archive);
      torch::serialize::OutputArchive archive;
      write_tensors(archive, "params", params);
      write_tensors(archive, "buffers", buffers);
      archive.write("optimizer", optimizer_archive);
      archive.save_to(path_);
      serialized_ = true;
    }
  }

  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;

  ~Snapshot() {
    if (!path_.empty()) {
      std::remove(path_.c_str());
    }
  }

  void restore() {
    torch::NoGradGuard no_grad;
    torch::serialize::InputArchive optimizer_archive;
    if (path_.empty()) {
      copy_into(model_.parameters(), params_);
      copy_into(model_.buffers(), buffers_);
      if (serialized_) {
        std::istringstream stream(optimizer_bytes_);
        optimizer_archive.load_from(stream);
      }
    } else {
      torch::serialize::InputArchive archive;
      archive.load_from(path_);
      copy_into(model_.parameters(), read_tensors(archive, "params"));
      copy_into(model_.buffers(), read_tensors(archive, "buffers"));
      archive.read("optimizer", optimizer_archive);
    }
    // State created during the test must go: `Optimizer::load` only adds the saved entries.
    optimizer_.state().clear();
    if (serialized_) {
      optimizer_.load(optimizer_archive);
    } else {
      const auto devices = param_devices();
      for (const auto& entry : state_) {
        const auto device = devices.find(entry.first);
        const torch::Device target = device == devices.end() ? torch::kCPU : device->second;
        optimizer_.state()[entry.first] =
            map_state(*entry.second, [&](const torch::Tensor& t) { return t.to(target); });
      }
    }
    // LibTorch 1.13's `Optimizer::load` does not restore the param groups' options (LRs among
    // them), 2.x's does; either way they come back exactly as they were.
    auto& groups = optimizer_.param_groups();
    for (size_t g = 0; g < groups.size(); ++g) {
      groups[g].set_options(options_[g]->clone());
    }
    optimizer_.zero_grad();
    restore_training_flags();
  }

 private:
  static torch::Tensor cpu_copy(const torch::Tensor& t) {
    return t.detach().to(torch::kCPU, /*non_blocking=*/false, /*copy=*/true);
  }

  static std::vector<torch::Tensor> cpu_copies(const std::vector<torch::Tensor>& tensors) {
    std::vector<torch::Tensor> copies;
    copies.reserve(tensors.size());
    for (const auto& t : tensors) {
      copies.push_back(cpu_copy(t));
    }
    return copies;
  }

  /// Copies every param state through `f`; false when one is not of a LibTorch optimizer.
  static bool copy_state(const StateMap& from, StateMap& to, const TensorMap& f) {
    for (const auto& entry : from) {
      auto copy = map_state(*entry.second, f);
      if (!copy) {
        return false;
      }
      to[entry.first] = std::move(copy);
    }
    return true;
  }

  /// The device of every parameter, under the key of its optimizer state.
  std::unordered_map<StateKey, torch::Device> param_devices() const {
    std::unordered_map<StateKey, torch::Device> devices;
    for (const auto& group : optimizer_.param_groups()) {
      for (const auto& p : group.params()) {
        devices.emplace(compat::state_key(p), p.device());
      }
    }
    return devices;
  }

  static void write_tensors(torch::serialize::OutputArchive& archive, const std::string& prefix,
                            const std::vector<torch::Tensor>& tensors) {
    archive.write(prefix + "/size", torch::tensor(static_cast<int64_t>(tensors.size())));
    for (size_t i = 0; i < tensors.size(); ++i) {
      archive.write(prefix + "/" + std::to_string(i), tensors[i].detach().to(torch::kCPU),
                    /*is_buffer=*/true);
    }
  }

  static std::vector<torch::Tensor> read_tensors(torch::serialize::InputArchive& archive,
                                                 const std::string& prefix) {
    torch::Tensor size;
    archive.read(prefix + "/size", size);
    std::vector<torch::Tensor> tensors(static_cast<size_t>(size.item<int64_t>()));
    for (size_t i = 0; i < tensors.size(); ++i) {
      archive.read(prefix + "/" + std::to_string(i), tensors[i], /*is_buffer=*/true);
    }
    return tensors;
  }

  static void copy_into(const std::vector<torch::Tensor>& live,
                        const std::vector<torch::Tensor>& saved) {
    TORCH_CHECK(live.size() == saved.size(), "LRFinder: expected the model to keep its ",
                saved.size(), " tensors during the range test, but it now has ", live.size());
    for (size_t i = 0; i < live.size(); ++i) {
      live[i].detach().copy_(saved[i]);
    }
  }

  void restore_training_flags() {
    // `Module::train` is recursive, so the flags are set in pre-order: each descendant
    // overrides what its parent wrote.
    size_t i = 0;
    model_.train(training_[i++]);
    for (const auto& child : model_.named_modules("", /*include_self=*/false)) {
      if (i < training_.size()) {
        child.value()->train(training_[i++]);
      }
    }
  }

  torch::nn::Module& model_;
  torch::optim::Optimizer& optimizer_;
  std::string path_;
  std::vector<bool> training_;
  std::vector<std::unique_ptr<torch::optim::OptimizerOptions>> options_;
  std::vector<torch::Tensor> params_;
  std::vector<torch::Tensor> buffers_;
  bool serialized_ = false;
  StateMap state_;
  std::string optimizer_bytes_;
};

/// The exponential moving average of the loss, bias-corrected (fastai's `SmoothenValue`).
class Smoother {
 public:
  Smoother(bool enabled, double beta) : beta_(enabled ? beta : 0.0) {}

  double add(double value) {
    average_ = beta_ * average_ + (1 - beta_) * value;
    correction_ *= beta_;
    return average_ / (1 - correction_);
  }

 private:
  double beta_;
  double average_ = 0.0;
  double correction_ = 1.0;
};

/// The value of a one-element tensor. A CPU float or double is read from memory directly:
/// `item()` goes through the dispatcher, which costs about 3% of a step of a very small model.
double read_scalar(const torch::Tensor& t) {
  if (t.device().is_cpu() && t.layout() == torch::kStrided) {
    if (t.scalar_type() == torch::kFloat) {
      return static_cast<double>(*t.data_ptr<float>());
    }
    if (t.scalar_type() == torch::kDouble) {
      return *t.data_ptr<double>();
    }
  }
  return t.item<double>();
}

/// One forward and backward pass; reads the loss once, after backward has been queued.
double single_step(const std::function<torch::Tensor()>& train_step) {
  torch::Tensor loss = train_step();
  check_loss(loss);
  loss.backward();
  return read_scalar(loss);
}

/// Several passes whose gradients add up to their mean; the losses are summed on the device and
/// read once.
double accumulated_step(const std::function<torch::Tensor()>& train_step, int64_t count) {
  torch::Tensor total;
  for (int64_t k = 0; k < count; ++k) {
    torch::Tensor loss = train_step();
    check_loss(loss);
    (loss / static_cast<double>(count)).backward();
    total = k == 0 ? loss.detach() : total + loss.detach();
  }
  return read_scalar(total) / static_cast<double>(count);
}

bool exceeds(double smoothed, double best, double threshold) {
  return smoothed - best > (threshold - 1) * std::abs(best);
}

/// The curve that the rules look at: a centred running median, which has no lag and ignores
/// isolated spikes. The window shrinks symmetrically at both ends.
std::vector<double> running_median(const std::vector<double>& values, int64_t window) {
  const int64_t n = static_cast<int64_t>(values.size());
  const int64_t half = window / 2;
  std::vector<double> out(values.size());
  std::vector<double> buffer;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t h = std::min({half, i, n - 1 - i});
    buffer.assign(values.begin() + (i - h), values.begin() + (i + h + 1));
    std::nth_element(buffer.begin(), buffer.begin() + h, buffer.end());
    out[static_cast<size_t>(i)] = buffer[static_cast<size_t>(h)];
  }
  return out;
}

double median_of_first(const std::vector<double>& values, int64_t count) {
  std::vector<double> head(values.begin(),
                           values.begin() + std::min<int64_t>(count, values.size()));
  const size_t mid = head.size() / 2;
  std::nth_element(head.begin(), head.begin() + mid, head.end());
  return head[mid];
}

int64_t auto_window(int64_t window, size_t n) {
  if (window > 0) {
    return window | 1;
  }
  return std::max<int64_t>(3, static_cast<int64_t>(n) / 10) | 1;
}

std::vector<double> abscissa(const std::vector<double>& lrs, RangeMode mode) {
  std::vector<double> x(lrs);
  if (mode == RangeMode::Exponential) {
    for (auto& v : x) {
      v = std::log(v);
    }
  }
  return x;
}

/// Index of the steepest slope of `f` against `x` in [first, last], by central differences
/// over `half` points on each side; `sign` -1 finds the steepest fall, +1 the steepest rise.
size_t steepest(const std::vector<double>& f, const std::vector<double>& x, size_t first,
                size_t last, int64_t half, double sign) {
  const size_t n = f.size();
  size_t best_index = first;
  double best_slope = -std::numeric_limits<double>::infinity();
  for (size_t i = first; i <= last; ++i) {
    const size_t lo = i >= static_cast<size_t>(half) ? i - half : 0;
    const size_t hi = std::min(n - 1, i + half);
    if (hi == lo || x[hi] == x[lo]) {
      continue;
    }
    const double slope = sign * (f[hi] - f[lo]) / (x[hi] - x[lo]);
    if (slope > best_slope) {
      best_slope = slope;
      best_index = i;
    }
  }
  return best_index;
}

LRSuggestion unavailable(SuggestionRule rule) {
  LRSuggestion s;
  s.lr = s.base_lr = s.max_lr = kNaN;
  s.rule = rule;
  return s;
}

void check_curve(const std::vector<double>& lrs, const std::vector<double>& values,
                 const char* what) {
  TORCH_CHECK(lrs.size() == values.size(), "suggest: expected as many LRs as ", what, ", but got ",
              lrs.size(), " LRs and ", values.size(), " ", what);
  for (size_t i = 0; i < lrs.size(); ++i) {
    TORCH_CHECK(std::isfinite(lrs[i]) && lrs[i] > 0,
                "suggest: expected positive finite LRs, but got ", lrs[i], " at index ", i);
    TORCH_CHECK(i == 0 || lrs[i] > lrs[i - 1], "suggest: expected increasing LRs, but got ", lrs[i],
                " after ", lrs[i - 1], " at index ", i);
  }
}

void check_suggest_options(const SuggestOptions& options) {
  TORCH_CHECK(options.window() >= 0, "suggest: expected window >= 0, but got ", options.window());
  TORCH_CHECK(options.max_lr_divisor() >= 1, "suggest: expected max_lr_divisor >= 1, but got ",
              options.max_lr_divisor());
  TORCH_CHECK(options.onset_fraction() > 0 && options.onset_fraction() < 1,
              "suggest: expected onset_fraction in (0, 1), but got ", options.onset_fraction());
  TORCH_CHECK(options.max_ratio() >= 2, "suggest: expected max_ratio >= 2, but got ",
              options.max_ratio());
  TORCH_CHECK(options.blowup() >= 0, "suggest: expected blowup >= 0, but got ", options.blowup());
}

double clamp_base(double base, double max_lr, double max_ratio) {
  return std::min(std::max(base, max_lr / max_ratio), max_lr / 2);
}

}  // namespace

std::string to_string(SuggestionRule rule) {
  switch (rule) {
    case SuggestionRule::LossEdge:
      return "loss edge";
    case SuggestionRule::LossMinimum:
      return "loss minimum";
    case SuggestionRule::AccuracyCurve:
      return "accuracy curve";
    case SuggestionRule::TooFewPoints:
      return "too few points";
    case SuggestionRule::NoDescent:
      return "no descent";
  }
  return "unknown";
}

double range_lr_at(int64_t t, int64_t num_iters, double start_lr, double end_lr, RangeMode mode) {
  if (t <= 0) {
    return start_lr;
  }
  if (t >= num_iters - 1) {
    return end_lr;
  }
  const double p = static_cast<double>(t) / static_cast<double>(num_iters - 1);
  if (mode == RangeMode::Linear) {
    return start_lr + (end_lr - start_lr) * p;
  }
  return start_lr * std::pow(end_lr / start_lr, p);
}

LRSuggestion suggest_from_loss(const std::vector<double>& lrs, const std::vector<double>& losses,
                               RangeMode mode, bool blew_up, const SuggestOptions& options) {
  check_curve(lrs, losses, "losses");
  check_suggest_options(options);
  if (lrs.size() < 5) {
    return unavailable(SuggestionRule::TooFewPoints);
  }
  const int64_t window = auto_window(options.window(), lrs.size());
  const auto f = running_median(losses, window);
  const auto x = abscissa(lrs, mode);
  const double first = median_of_first(losses, window);
  const size_t n = f.size();
  const size_t i_min = static_cast<size_t>(std::min_element(f.begin(), f.end()) - f.begin());
  const double descent = first - f[i_min];
  if (!(descent > 0) || i_min == 0) {
    return unavailable(SuggestionRule::NoDescent);
  }
  LRSuggestion s;
  // The last point at or below the blow-up level: the loss exceeds it for good after that.
  const double blowup_level = first + options.blowup() * descent;
  size_t i_edge = n - 1;
  while (i_edge > i_min && f[i_edge] > blowup_level) {
    --i_edge;
  }
  if (i_edge + 1 < n || blew_up) {
    s.rule = SuggestionRule::LossEdge;
  } else {
    s.rule = SuggestionRule::LossMinimum;
    i_edge = i_min;
  }
  s.max_lr = lrs[i_edge] / options.max_lr_divisor();

  size_t i_onset = 0;
  while (i_onset < i_min && f[i_onset] > first - options.onset_fraction() * descent) {
    ++i_onset;
  }
  s.base_lr = clamp_base(lrs[i_onset], s.max_lr, options.max_ratio());

  const size_t i_steep = steepest(f, x, i_onset, i_min, window / 2, -1.0);
  s.lr = std::min(std::max(lrs[i_steep], s.base_lr), s.max_lr);
  return s;
}

LRSuggestion suggest_from_metric(const std::vector<double>& lrs, const std::vector<double>& metrics,
                                 RangeMode mode, const SuggestOptions& options) {
  check_curve(lrs, metrics, "metrics");
  check_suggest_options(options);
  if (lrs.size() < 3) {
    return unavailable(SuggestionRule::TooFewPoints);
  }
  const int64_t window = auto_window(options.window(), lrs.size());
  const auto f = running_median(metrics, window);
  const auto x = abscissa(lrs, mode);
  const double first = median_of_first(metrics, window);
  const size_t i_peak = static_cast<size_t>(std::max_element(f.begin(), f.end()) - f.begin());
  const double rise = f[i_peak] - first;
  if (!(rise > 0) || i_peak == 0) {
    return unavailable(SuggestionRule::NoDescent);
  }
  LRSuggestion s;
  s.rule = SuggestionRule::AccuracyCurve;
  size_t i_max = 0;
  while (i_max < i_peak && f[i_max] < first + 0.9 * rise) {
    ++i_max;
  }
  s.max_lr = lrs[i_max];
  size_t i_onset = 0;
  while (i_onset < i_max && f[i_onset] < first + options.onset_fraction() * rise) {
    ++i_onset;
  }
  s.base_lr = clamp_base(lrs[i_onset], s.max_lr, options.max_ratio());
  const size_t i_steep = steepest(f, x, i_onset, i_max, window / 2, +1.0);
  s.lr = std::min(std::max(lrs[i_steep], s.base_lr), s.max_lr);
  return s;
}

LRSuggestion suggest(const RangeTestResult& result, const SuggestOptions& options) {
  if (!result.metrics.empty()) {
    return suggest_from_metric(result.metric_lrs, result.metrics, result.mode, options);
  }
  return suggest_from_loss(result.lrs, result.losses, result.mode, result.diverged(), options);
}

LRSuggestion RangeTestResult::suggest(const SuggestOptions& options) const {
  return torchclr::suggest(*this, options);
}

std::vector<double> RangeTestResult::for_groups(double lr) const {
  std::vector<double> lrs(group_scales);
  for (auto& v : lrs) {
    v *= lr;
  }
  return lrs;
}

void RangeTestResult::save_csv(const std::string& path) const {
  std::ofstream out(path);
  TORCH_CHECK(out, "RangeTestResult: expected a writable path for save_csv, but got ", path);
  out.precision(17);
  out << "lr,loss,smoothed_loss,metric\n";
  size_t m = 0;
  for (size_t i = 0; i < lrs.size(); ++i) {
    out << lrs[i] << ',' << losses[i] << ',' << smoothed_losses[i] << ',';
    if (m < metric_lrs.size() && metric_lrs[m] == lrs[i]) {
      out << metrics[m++];
    }
    out << '\n';
  }
  TORCH_CHECK(out.good(), "RangeTestResult: failed to write ", path);
}

LRFinder::LRFinder(torch::nn::Module& model, torch::optim::Optimizer& optimizer)
    : model_(model), optimizer_(optimizer) {}

RangeTestResult LRFinder::range_test(const std::function<torch::Tensor()>& train_step,
                                     RangeTestOptions options) {
  validate(options);
  TORCH_CHECK(train_step, "LRFinder: expected a train_step function, but got an empty one");
  RangeTestResult result;
  result.mode = options.mode();
  result.group_scales = group_scales(optimizer_);

  std::unique_ptr<Snapshot> snapshot;
  if (options.restore()) {
    snapshot = std::make_unique<Snapshot>(model_, optimizer_, options.snapshot_path());
  }
  try {
    run(train_step, options, result);
  } catch (...) {
    if (snapshot) {
      try {
        snapshot->restore();
      } catch (...) {  // the user's exception matters more than a failed restore
      }
    }
    throw;
  }
  if (snapshot) {
    snapshot->restore();
  }
  return result;
}

void LRFinder::run(const std::function<torch::Tensor()>& train_step,
                   const RangeTestOptions& options, RangeTestResult& result) {
  const int64_t n = options.num_iters();
  const int64_t accumulation = options.accumulation_steps();
  result.lrs.reserve(static_cast<size_t>(n));
  result.losses.reserve(static_cast<size_t>(n));
  result.smoothed_losses.reserve(static_cast<size_t>(n));
  auto& groups = optimizer_.param_groups();
  Smoother smoother(options.smoothing(), options.smoothing_beta());
  double best = std::numeric_limits<double>::infinity();

  for (int64_t t = 0; t < n; ++t) {
    const double lr = range_lr_at(t, n, options.start_lr(), options.end_lr(), options.mode());
    for (size_t g = 0; g < groups.size(); ++g) {
      groups[g].options().set_lr(lr * result.group_scales[g]);
    }
    optimizer_.zero_grad();
    double value =
        accumulation == 1 ? single_step(train_step) : accumulated_step(train_step, accumulation);
    if (options.reduce_loss()) {
      value = options.reduce_loss()(value);
    }
    if (!std::isfinite(value)) {
      result.stop_reason = StopReason::NonFiniteLoss;
      result.stop_lr = lr;
      result.stop_loss = value;
      return;
    }
    if (options.after_backward()) {
      options.after_backward()();
    }
    optimizer_.step();

    const double smoothed = options.smoothing() ? smoother.add(value) : value;
    result.lrs.push_back(lr);
    result.losses.push_back(value);
    result.smoothed_losses.push_back(smoothed);
    best = std::min(best, smoothed);

    if (options.eval() && (t + 1) % options.eval_every() == 0) {
      torch::NoGradGuard no_grad;
      result.metric_lrs.push_back(lr);
      result.metrics.push_back(options.eval()());
    }
    if (exceeds(smoothed, best, options.diverge_threshold())) {
      result.stop_reason = StopReason::Diverged;
      result.stop_lr = lr;
      result.stop_loss = smoothed;
      return;
    }
  }
}

}  // namespace torchclr
