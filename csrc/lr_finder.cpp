#include <c10/util/Exception.h>
#include <torch/utils.h>
#include <torchclr/lr_finder.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <memory>

#include "snapshot.h"

namespace torchclr {
namespace {

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

}  // namespace

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

  std::unique_ptr<detail::Snapshot> snapshot;
  if (options.restore()) {
    snapshot = std::make_unique<detail::Snapshot>(model_, optimizer_, options.snapshot_path());
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
