// Wall time of a range test of N = 100 iterations (snapshot and restore included) against
// N plain training steps (set the LR, zero_grad, forward, loss, backward, step; no loss read
// back) with the same LRs, model, optimizer and batches, for three models:
//   tiny  Linear(32, 4), batch 32, SGD with momentum: bookkeeping weighs most here
//   mlp   784-256-10, batch 64, Adam
//   cnn   the CLR paper's CIFAR-10 layout (5x5 convolutions 32-32-64), batch 100, SGD momentum
//
//   OMP_NUM_THREADS=1 lr_finder_bench
//
// Each reports plain_ms and range_test_ms (medians), overhead_pct (median over pairs of
// range / plain - 1), overhead_min_pct (fastest range test over fastest plain run - 1) and
// overhead_cpu_pct (as overhead_pct, in process CPU time).

#include <benchmark/benchmark.h>
#include <torch/torch.h>
#include <torchclr/lr_finder.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace {

constexpr int64_t kSteps = 100;

struct Workload {
  std::shared_ptr<torch::nn::Module> model;
  std::function<torch::Tensor(const torch::Tensor&)> forward;
  std::vector<torch::Tensor> inputs, targets;
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  size_t next = 0;

  torch::Tensor loss() {
    const size_t i = next++ % inputs.size();
    return torch::nn::functional::cross_entropy(forward(inputs[i]), targets[i]);
  }
};

// Tiny: one linear layer, where the per-step bookkeeping weighs most.
Workload tiny() {
  torch::manual_seed(0);
  auto net = torch::nn::Linear(32, 4);
  Workload w;
  w.model = net.ptr();
  w.forward = [net](const torch::Tensor& x) mutable { return net->forward(x); };
  for (int i = 0; i < 4; ++i) {
    w.inputs.push_back(torch::randn({32, 32}));
    w.targets.push_back(torch::randint(4, {32}, torch::kLong));
  }
  w.optimizer = std::make_unique<torch::optim::SGD>(net->parameters(),
                                                    torch::optim::SGDOptions(1e-3).momentum(0.9));
  return w;
}

// MLP on MNIST-sized inputs, Adam.
Workload mlp() {
  torch::manual_seed(0);
  auto net = torch::nn::Sequential(torch::nn::Linear(784, 256), torch::nn::ReLU(),
                                   torch::nn::Linear(256, 10));
  Workload w;
  w.model = net.ptr();
  w.forward = [net](const torch::Tensor& x) mutable { return net->forward(x); };
  for (int i = 0; i < 4; ++i) {
    w.inputs.push_back(torch::randn({64, 784}));
    w.targets.push_back(torch::randint(10, {64}, torch::kLong));
  }
  w.optimizer =
      std::make_unique<torch::optim::Adam>(net->parameters(), torch::optim::AdamOptions(1e-3));
  return w;
}

// The CLR paper's CIFAR-10 network shape (three 5x5 convolutions, 32-32-64), batch 100, SGD with
// momentum.
Workload cnn() {
  torch::manual_seed(0);
  using torch::nn::Conv2dOptions;
  auto net = torch::nn::Sequential(
      torch::nn::Conv2d(Conv2dOptions(3, 32, 5).padding(2)),
      torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(3).stride(2).ceil_mode(true)),
      torch::nn::ReLU(), torch::nn::Conv2d(Conv2dOptions(32, 32, 5).padding(2)), torch::nn::ReLU(),
      torch::nn::AvgPool2d(torch::nn::AvgPool2dOptions(3).stride(2).ceil_mode(true)),
      torch::nn::Conv2d(Conv2dOptions(32, 64, 5).padding(2)), torch::nn::ReLU(),
      torch::nn::AvgPool2d(torch::nn::AvgPool2dOptions(3).stride(2).ceil_mode(true)),
      torch::nn::Flatten(), torch::nn::Linear(64 * 4 * 4, 10));
  Workload w;
  w.model = net.ptr();
  w.forward = [net](const torch::Tensor& x) mutable { return net->forward(x); };
  for (int i = 0; i < 4; ++i) {
    w.inputs.push_back(torch::randn({100, 3, 32, 32}));
    w.targets.push_back(torch::randint(10, {100}, torch::kLong));
  }
  w.optimizer = std::make_unique<torch::optim::SGD>(net->parameters(),
                                                    torch::optim::SGDOptions(1e-3).momentum(0.9));
  return w;
}

using Factory = Workload (*)();

/// Wall and CPU seconds of one call of `fn`.
struct Timing {
  double wall = 0;
  double cpu = 0;
};

template <typename Fn>
Timing timed(Fn fn) {
  const auto wall = std::chrono::steady_clock::now();
  const std::clock_t cpu = std::clock();
  fn();
  return {std::chrono::duration<double>(std::chrono::steady_clock::now() - wall).count(),
          static_cast<double>(std::clock() - cpu) / CLOCKS_PER_SEC};
}

constexpr double kStartLr = 1e-6;
constexpr double kEndLr = 1e-2;

// The same LRs as the range test, as a scheduler would set them, over the same batches (4, which
// divides kSteps): from the same state both compute the same numbers, and the speed of a step
// depends on them (denormals), which is not the finder's doing.
void plain_training(Workload& w) {
  for (int64_t i = 0; i < kSteps; ++i) {
    w.optimizer->param_groups()[0].options().set_lr(
        torchclr::range_lr_at(i, kSteps, kStartLr, kEndLr, torchclr::RangeMode::Exponential));
    w.optimizer->zero_grad();
    w.loss().backward();
    w.optimizer->step();
  }
}

void range_test(Workload& w, torchclr::LRFinder& finder, benchmark::State& state) {
  // A range low enough that every run makes all kSteps steps.
  const auto options = torchclr::RangeTestOptions()
                           .start_lr(kStartLr)
                           .end_lr(kEndLr)
                           .num_iters(kSteps)
                           .diverge_threshold(std::numeric_limits<double>::infinity());
  auto result = finder.range_test([&] { return w.loss(); }, options);
  if (static_cast<int64_t>(result.lrs.size()) != kSteps) {
    state.SkipWithError("the range test stopped early");
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// One benchmark iteration is a pair: N plain steps and a range test of N iterations, back to
// back, in alternating order. The overhead is the median over pairs of range / plain - 1, which
// cancels the drift of a shared machine's load.
void range_test_overhead(benchmark::State& state, Factory make) {
  auto w = make();
  torchclr::LRFinder finder(*w.model, *w.optimizer);
  plain_training(w);  // warm-up: allocator, optimizer state
  std::vector<double> plain, range, ratio, cpu_ratio;
  for (auto _ : state) {
    Timing p;
    Timing r;
    if (plain.size() % 2 == 0) {
      p = timed([&] { plain_training(w); });
      r = timed([&] { range_test(w, finder, state); });
    } else {
      r = timed([&] { range_test(w, finder, state); });
      p = timed([&] { plain_training(w); });
    }
    plain.push_back(p.wall);
    range.push_back(r.wall);
    ratio.push_back(r.wall / p.wall);
    cpu_ratio.push_back(r.cpu / p.cpu);
  }
  state.counters["plain_ms"] = 1e3 * median(plain);
  state.counters["range_test_ms"] = 1e3 * median(range);
  state.counters["overhead_pct"] = 100 * (median(ratio) - 1);
  // The fastest run of each is the one least disturbed by other processes.
  state.counters["overhead_min_pct"] = 100 * (*std::min_element(range.begin(), range.end()) /
                                                  *std::min_element(plain.begin(), plain.end()) -
                                              1);
  // CPU time leaves out the time the process waited for a core.
  state.counters["overhead_cpu_pct"] = 100 * (median(cpu_ratio) - 1);
}

void register_model(const std::string& name, Factory make, int64_t pairs) {
  benchmark::RegisterBenchmark(("RangeTestOverhead/" + name).c_str(), range_test_overhead, make)
      ->Iterations(pairs)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
}

}  // namespace

int main(int argc, char** argv) {
  register_model("tiny", tiny, 200);
  register_model("mlp", mlp, 20);
  register_model("cnn", cnn, 5);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
    return 1;
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
