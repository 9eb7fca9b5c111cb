#include "range_test.h"

#include <torch/torch.h>
#include <torchclr/lr_finder.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "batch_stream.h"
#include "model.h"
#include "policies.h"
#include "report.h"
#include "train.h"

namespace fs = std::filesystem;
namespace F = torch::nn::functional;

namespace cifar10 {
namespace {

// A sweep longer than this is a typing mistake; the bound keeps the iteration count exact.
constexpr int64_t kMaxRangeTestIterations = int64_t{1} << 31;

}  // namespace

std::string run_range_test(const RangeTestCliOptions& options, const DataPair& data) {
  TORCH_CHECK(options.start_lr > 0 && options.end_lr > options.start_lr,
              "range-test: expected 0 < --start-lr < --end-lr, but got ", options.start_lr, " and ",
              options.end_lr);
  const auto device = options.device;
  const auto& group = options.group;
  const int64_t world = group ? group->world_size() : 1;
  const int64_t rank = group ? group->rank() : 0;
  const ImageData train_set{data.train.images.to(device), data.train.targets.to(device)};
  BatchStream batches(train_set, options.batch_size, options.seed, rank, world);
  torch::manual_seed(options.seed);
  CifarNet model(data.train.images.size(1));
  model->to(device);
  const auto groups = caffe_param_groups(model);
  const auto kind = parse_optimizer(options.optimizer);
  auto optimizer = make_optimizer(kind, groups, options.start_lr);
  std::optional<torchclr::GradientAverager> averager;
  if (group) {
    torchclr::broadcast_module(*group, *model);  // every rank starts from rank 0's weights
    averager.emplace(group, model->parameters());
  }

  TORCH_CHECK(options.eval_images >= 1, "--eval-images: expected at least 1, but got ",
              options.eval_images);
  TORCH_CHECK(options.eval_every >= 1, "--eval-every: expected at least 1, but got ",
              options.eval_every);
  const int64_t batches_per_epoch = batches.batches_per_epoch();
  // The iteration count is converted from a double: bounded first, so the conversion is defined.
  const double max_epochs = static_cast<double>(kMaxRangeTestIterations) / batches_per_epoch;
  TORCH_CHECK(std::isfinite(options.epochs) && options.epochs > 0,
              "--epochs: expected a positive finite number, but got ", options.epochs);
  TORCH_CHECK(options.epochs <= max_epochs, "--epochs: expected at most ", max_epochs, " (",
              kMaxRangeTestIterations, " iterations of batch size ", options.batch_size,
              "), but got ", options.epochs);
  const int64_t eval_images = std::min(options.eval_images, data.test.size());
  const ImageData eval_set{data.test.images.narrow(0, 0, eval_images).to(device),
                           data.test.targets.narrow(0, 0, eval_images).to(device)};
  const auto iterations = static_cast<int64_t>(options.epochs * batches_per_epoch);
  TORCH_CHECK(iterations >= 2, "range-test: expected at least 2 iterations, but --epochs ",
              options.epochs, " gives ", iterations);

  int64_t t = 0;
  const auto train_step = [&]() -> torch::Tensor {
    batches.load(t++);
    return F::cross_entropy(model->forward(batches.images()), batches.targets());
  };
  // Each rank measures its shard of the evaluation images; every rank gets the whole figure.
  // Rank 0 shows each measurement as progress.
  const auto accuracy = [&]() -> double {
    const double value = test(model, eval_set, 1000, group.get()).accuracy;
    if (rank == 0) {
      // The LR of the step just taken, in the group of multiplier 1.
      std::cerr << "range-test " << t << "/" << iterations << "  lr "
                << optimizer->param_groups()[0].options().get_lr() << "  test accuracy " << value
                << "%\n";
    }
    return value;
  };

  auto sweep = torchclr::RangeTestOptions()
                   .start_lr(options.start_lr)
                   .end_lr(options.end_lr)
                   .num_iters(iterations)
                   .mode(torchclr::RangeMode::Linear)
                   .eval(accuracy)
                   .eval_every(options.eval_every);
  if (group) {
    // The same mean loss on every rank: the same curve, and the same stop.
    sweep.reduce_loss(torchclr::all_reduce_loss(group));
    sweep.after_backward([&averager] { averager->synchronize(); });
  }
  torchclr::LRFinder finder(*model, *optimizer);
  const auto result = finder.range_test(train_step, sweep);
  const auto suggestion = result.suggest();
  std::ostringstream out;
  out << "LR range test, " << result.lrs.size() << " iterations from " << options.start_lr << " to "
      << options.end_lr << (result.diverged() ? " (stopped early)" : "") << "\n"
      << "suggested bounds: base_lr " << suggestion.base_lr << ", max_lr " << suggestion.max_lr
      << " (" << torchclr::to_string(suggestion.rule) << "); single LR " << suggestion.lr << "\n";
  if (rank != 0) return out.str();  // rank 0 alone writes files

  fs::create_directories(options.out_dir);
  const auto csv = options.out_dir + "/range_test.csv";
  result.save_csv(csv);
  nlohmann::ordered_json summary;
  summary["start_lr"] = options.start_lr;
  summary["end_lr"] = options.end_lr;
  summary["iterations"] = result.lrs.size();
  summary["stopped_early"] = result.diverged();
  summary["suggested_lr"] = suggestion.lr;
  summary["suggested_base_lr"] = suggestion.base_lr;
  summary["suggested_max_lr"] = suggestion.max_lr;
  summary["rule"] = torchclr::to_string(suggestion.rule);
  summary["threads"] = options.threads;
  summary["flush_denormal"] = options.flush_denormal;
  summary["world_size"] = world;
  summary["dataset"] = data.description;
  summary["train_images"] = data.train.size();
  summary["test_images"] = data.test.size();
  summary["command"] = options.command;
  summary["machine"] = machine_description();
  replace_file(options.out_dir + "/summary.json", summary.dump(2) + "\n");

  // Accuracy (the sweep's own points) on the left axis, smoothed training loss on the right.
  const auto script = options.out_dir + "/range_test.gp";
  const std::string image = options.out_dir + "/range_test.png";
  std::ostringstream gp;
  gp << "set datafile separator ','\nset datafile missing ''\n"
     << "set terminal pngcairo size 1000,600 noenhanced\n"
     << "set output '" << gnuplot_output(image) << "'\n"
     << "set title 'LR range test: LR rising linearly over " << options.epochs << " epochs'\n"
     << "set xlabel 'learning rate'\nset ylabel 'test accuracy (%)'\nset y2label 'training loss "
        "(smoothed)'\nset ytics nomirror\nset y2tics\nset grid\n";
  if (std::isfinite(suggestion.base_lr) && std::isfinite(suggestion.max_lr)) {
    gp << "set arrow from " << suggestion.base_lr << ", graph 0 to " << suggestion.base_lr
       << ", graph 1 nohead dt 2\nset arrow from " << suggestion.max_lr << ", graph 0 to "
       << suggestion.max_lr << ", graph 1 nohead dt 2\n";
  }
  gp << "plot '" << csv
     << "' every ::1 using 1:4 with linespoints pt 7 ps 0.5 title 'test "
        "accuracy', '"
     << csv << "' every ::1 using 1:3 axes x1y2 with lines title 'smoothed loss'\n";
  replace_file(script, gp.str());
  run_gnuplot(script, {image});

  out << "results: " << csv << ", " << options.out_dir << "/range_test.png\n";
  return out.str();
}

}  // namespace cifar10
