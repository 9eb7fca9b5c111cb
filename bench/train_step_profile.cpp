// Where the time of one CIFAR-10 training iteration goes: runs the example's network (batch 100,
// SGD with Caffe's param groups, as `cifar10 train`) under LibTorch's CPU profiler and prints each
// operator's self time per iteration, largest first, plus the unprofiled time per iteration.
//
//   train_step_profile [--threads N] [--iters N] [--warmup N] [--batch N] [--top N]
//                      [--layers fused|composed] [--layout nhwc|nchw]
//
// --layers composed profiles the network with its pooling, ReLU and LRN layers composed from
// LibTorch's operators instead of the example's fused kernels; --layout nchw runs it in NCHW
// instead of the example's channels-last layout.

#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "cli.h"
#include "model.h"
#include "policies.h"

namespace {

namespace F = torch::nn::functional;
namespace profiler = torch::autograd::profiler;

struct Args {
  int threads = 1;
  int64_t iters = 20;
  int64_t warmup = 5;
  int64_t batch = 100;
  size_t top = 25;
  bool fused = true;
  bool channels_last = true;
};

Args parse(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s: expected a value\n", flag.c_str());
      std::exit(2);
    }
    if (flag == "--layers") {
      const std::string layers = argv[++i];
      if (layers != "fused" && layers != "composed") {
        std::fprintf(stderr, "--layers: expected fused or composed, but got '%s'\n", argv[i]);
        std::exit(2);
      }
      args.fused = layers == "fused";
      continue;
    }
    if (flag == "--layout") {
      const std::string layout = argv[++i];
      if (layout != "nhwc" && layout != "nchw") {
        std::fprintf(stderr, "--layout: expected nhwc or nchw, but got '%s'\n", argv[i]);
        std::exit(2);
      }
      args.channels_last = layout == "nhwc";
      continue;
    }
    const long long value = std::atoll(argv[++i]);
    if (value <= 0) {
      std::fprintf(stderr, "%s: expected a positive integer, but got '%s'\n", flag.c_str(),
                   argv[i]);
      std::exit(2);
    }
    if (flag == "--threads") {
      args.threads = static_cast<int>(value);
    } else if (flag == "--iters") {
      args.iters = value;
    } else if (flag == "--warmup") {
      args.warmup = value;
    } else if (flag == "--batch") {
      args.batch = value;
    } else if (flag == "--top") {
      args.top = static_cast<size_t>(value);
    } else {
      std::fprintf(stderr, "unknown option %s\n", flag.c_str());
      std::exit(2);
    }
  }
  return args;
}

struct OpTime {
  double self_us = 0.0;
  int64_t calls = 0;
};

// The example's own backward nodes under a short name.
std::string readable(std::string name) {
  const std::string node = "torch::autograd::CppNode<cifar10::(anonymous namespace)::";
  if (name.rfind(node, 0) == 0) name = "backward: " + name.substr(node.size());
  if (!name.empty() && name.back() == '>') name.pop_back();
  return name;
}

// Self time per operator name: an event's duration less the durations of the events nested in it
// on the same thread.
std::map<std::string, OpTime> self_times(const profiler::thread_event_lists& lists) {
  std::map<std::string, OpTime> times;
  for (const auto& events : lists) {
    struct Frame {
      const profiler::LegacyEvent* push;
      double child_us;
    };
    std::vector<Frame> stack;
    for (const auto& event : events) {
      if (event.kindStr() == "push") {
        stack.push_back({&event, 0.0});
      } else if (event.kindStr() == "pop" && !stack.empty()) {
        const Frame frame = stack.back();
        stack.pop_back();
        const double total = frame.push->cpuElapsedUs(event);
        auto& op = times[readable(frame.push->name())];
        op.self_us += total - frame.child_us;
        op.calls += 1;
        if (!stack.empty()) stack.back().child_us += total;
      }
    }
  }
  return times;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  cifar10::keep_freed_memory();  // as the example does
  torch::set_num_threads(args.threads);
  torch::manual_seed(1);

  cifar10::CifarNet model(3, 10, args.fused, args.channels_last);
  auto optimizer = cifar10::make_optimizer(cifar10::OptimizerKind::Sgd,
                                           cifar10::caffe_param_groups(model), 0.001);
  const auto images = torch::randn({args.batch, 3, 32, 32}) * 60.0;
  const auto targets = torch::randint(10, {args.batch}, torch::kLong);
  model->train();
  auto step = [&] {
    model->zero_grad(/*set_to_none=*/true);
    auto loss = F::cross_entropy(model->forward(images), targets);
    loss.backward();
    optimizer->step();
    return loss.item<double>();
  };

  for (int64_t i = 0; i < args.warmup; ++i) step();
  const auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < args.iters; ++i) step();
  const double plain_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() /
      static_cast<double>(args.iters);

  profiler::enableProfilerLegacy(
      torch::profiler::impl::ProfilerConfig(torch::profiler::impl::ProfilerState::CPU));
  for (int64_t i = 0; i < args.iters; ++i) step();
  const auto times = self_times(profiler::disableProfilerLegacy());

  std::vector<std::pair<std::string, OpTime>> rows(times.begin(), times.end());
  std::sort(rows.begin(), rows.end(),
            [](const auto& a, const auto& b) { return a.second.self_us > b.second.self_us; });
  double total_us = 0.0;
  for (const auto& row : rows) total_us += row.second.self_us;
  const double n = static_cast<double>(args.iters);

  std::printf("LibTorch %s, %s layers, %s, batch %lld, %d thread(s), %lld iterations\n",
              TORCH_VERSION, args.fused ? "fused" : "composed",
              args.channels_last ? "channels-last" : "NCHW", static_cast<long long>(args.batch),
              args.threads, static_cast<long long>(args.iters));
  std::printf("time per iteration: %.2f ms unprofiled (%.0f images/s), %.2f ms of op self time\n",
              plain_ms, 1000.0 * static_cast<double>(args.batch) / plain_ms, total_us / n / 1000.0);
  std::printf("%-60s %10s %7s %8s\n", "operator (self time)", "ms/iter", "share", "calls/it");
  for (size_t i = 0; i < rows.size() && i < args.top; ++i) {
    const auto& [name, op] = rows[i];
    std::printf("%-60s %10.3f %6.1f%% %8.1f\n", name.substr(0, 60).c_str(), op.self_us / n / 1000.0,
                100.0 * op.self_us / total_us, static_cast<double>(op.calls) / n);
  }
  return 0;
}
