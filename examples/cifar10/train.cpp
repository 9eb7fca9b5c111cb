#include "train.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <iostream>
#include <optional>
#include <sstream>

#include "batch_stream.h"
#include "resume.h"
#include "run_log.h"

namespace F = torch::nn::functional;

namespace cifar10 {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

bool is_finite(CifarNet& model) {
  torch::NoGradGuard no_grad;
  for (const auto& p : model->parameters()) {
    if (!torch::isfinite(p).all().item<bool>()) return false;
  }
  for (const auto& b : model->buffers()) {
    if (b.is_floating_point() && !torch::isfinite(b).all().item<bool>()) return false;
  }
  return true;
}

// "the test loss became nan at iteration 4 (lr 1e+297)" and what the checkpoint still holds.
std::string divergence(const std::string& what, int64_t iteration, double lr,
                       const std::string& checkpoint, std::optional<int64_t> saved) {
  std::ostringstream message;
  message << what << " at iteration " << iteration << " (lr " << lr
          << "): training diverged; try a lower --max-lr or --base-lr";
  if (!checkpoint.empty()) {
    if (saved) {
      message << "; the checkpoint '" << checkpoint << "' keeps iteration " << *saved
              << ", the last finite model";
    } else {
      message << "; no checkpoint was written";
    }
  }
  return message.str();
}

}  // namespace

EvalResult test(CifarNet& model, const ImageData& data, int64_t batch_size,
                torchclr::ProcessGroup* group) {
  torch::NoGradGuard no_grad;
  model->eval();
  const int64_t n = data.size();
  const int64_t world = group ? group->world_size() : 1;
  const int64_t rank = group ? group->rank() : 0;
  const int64_t shard_begin = n * rank / world;
  const int64_t shard_end = n * (rank + 1) / world;
  double loss_sum = 0.0;
  int64_t correct = 0;
  for (int64_t begin = shard_begin; begin < shard_end; begin += batch_size) {
    const int64_t size = std::min(batch_size, shard_end - begin);
    const auto images = data.images.narrow(0, begin, size);
    const auto targets = data.targets.narrow(0, begin, size);
    const auto output = model->forward(images);
    loss_sum +=
        F::cross_entropy(output, targets, F::CrossEntropyFuncOptions().reduction(torch::kSum))
            .item<double>();
    correct += output.argmax(1).eq(targets).sum().item<int64_t>();
  }
  model->train();
  if (group != nullptr && world > 1) {
    std::vector<torch::Tensor> sums{
        torch::tensor({loss_sum, static_cast<double>(correct)}, torch::kFloat64)
            .to(data.images.device())};
    group->all_reduce_sum(sums);
    loss_sum = sums[0][0].item<double>();
    correct = static_cast<int64_t>(std::llround(sums[0][1].item<double>()));
  }
  return {loss_sum / n, 100.0 * correct / n};
}

void check_train_options(const TrainOptions& options) {
  TORCH_CHECK(options.iterations >= 1, "--iters: expected an integer >= 1, but got ",
              options.iterations);
  TORCH_CHECK(options.batch_size >= 1, "--batch-size: expected an integer >= 1, but got ",
              options.batch_size);
  TORCH_CHECK(options.eval_every >= 0, "--eval-every: expected an integer >= 0, but got ",
              options.eval_every);
  TORCH_CHECK(options.eval_batch_size >= 1,
              "train: expected an evaluation batch size >= 1, but got ", options.eval_batch_size);
  check_policy_options(schedule_options(options));
}

PolicyOptions schedule_options(const TrainOptions& options) {
  PolicyOptions policy = options.policy;
  policy.iterations = options.iterations;
  return policy;
}

TrainResult train(const TrainOptions& given, const ImageData& train_data,
                  const ImageData& test_data) {
  const int64_t world = given.group ? given.group->world_size() : 1;
  const int64_t rank = given.group ? given.group->rank() : 0;
  TrainOptions options = given;
  if (rank != 0) {  // rank 0 alone writes CSVs, checkpoints and progress
    options.out_dir.clear();
    options.checkpoint.clear();
    options.progress = false;
  }
  check_train_options(options);
  const auto device = options.device;
  const ImageData train_set{train_data.images.to(device), train_data.targets.to(device)};
  const ImageData test_set{test_data.images.to(device), test_data.targets.to(device)};
  BatchStream batches(train_set, options.batch_size, options.seed, rank, world);
  prepare_checkpoint_path(options.checkpoint);
  const auto wall_start = Clock::now();
  RunFacts facts{0, 0.0, train_data.size(), test_data.size(), world, ""};

  // Set-up: the model, the optimizer and the schedule, at the checkpoint's iteration on a resume.
  torch::manual_seed(options.seed);
  CifarNet model(train_data.images.size(1));
  model->to(device);
  const auto groups = caffe_param_groups(model);
  auto optimizer = make_optimizer(options.optimizer, groups, options.policy.base_lr);
  const auto flags = resume_flags(options, train_data.size());
  Resume resume(options, flags);
  const auto scheduler = make_scheduler(*optimizer, options.optimizer, schedule_options(options),
                                        lr_multipliers(groups), resume.iteration());
  std::optional<int64_t> saved;  // the iteration the checkpoint file holds
  if (resume) {
    resume.restore(model, *optimizer, *scheduler);
    if (resume.header().format < kCheckpointFormat && rank == 0) {
      std::cerr << "note: '" << options.resume << "' is a checkpoint from before checksums and "
                << "recorded flags: it was loaded unverified, and its LR schedule agrees with "
                   "the flags\n";
    }
    if (options.checkpoint == options.resume) saved = resume.iteration();
    facts.resumed_from = resume.iteration();
    if (resume.iteration() == options.iterations) {
      return finished_run(options, current_lr(*optimizer), resume.iteration(),
                          resume.header().wall_seconds, resume.header().train_seconds, facts);
    }
  }
  std::optional<torchclr::GradientAverager> averager;
  if (world > 1) {
    torchclr::broadcast_module(*options.group, *model);  // every rank starts from rank 0's state
    averager.emplace(options.group, model->parameters());
  }

  RunLog log(options, resume ? std::optional<int64_t>(resume.iteration()) : std::nullopt);
  TrainResult result;
  result.best_test_accuracy = log.best_accuracy_before();
  double train_seconds = 0.0;
  const std::clock_t cpu_start = std::clock();
  const auto save = [&] {
    save_checkpoint(options.checkpoint, model, *optimizer, *scheduler, flags,
                    resume.header().wall_seconds + seconds_since(wall_start),
                    resume.header().train_seconds + train_seconds);
    saved = scheduler->last_step();
  };
  const auto stop = [&](const std::string& what, int64_t iteration, double lr) {
    result.diverged = true;
    result.message = divergence(what, iteration, lr, options.checkpoint, saved);
  };

  // The loop: one optimizer step per batch; the test set every `eval_every` iterations. The
  // iteration is the scheduler's.
  model->train();
  for (int64_t t = scheduler->last_step(); t < options.iterations; ++t) {
    const auto step_start = Clock::now();
    batches.load(t);
    const double lr = current_lr(*optimizer);
    const double momentum = current_momentum(*optimizer, options.optimizer);
    model->zero_grad(/*set_to_none=*/true);
    auto loss = F::cross_entropy(model->forward(batches.images()), batches.targets());
    loss.backward();
    if (averager) averager->synchronize();
    optimizer->step();
    double loss_value = loss.item<double>();
    // Every rank logs, and stops on, the same (mean) loss.
    if (world > 1) loss_value = options.group->all_reduce_mean(loss_value);
    scheduler->step();
    train_seconds += seconds_since(step_start);
    log.train_row(t, lr, momentum, loss_value, train_seconds);
    if (!std::isfinite(loss_value)) {
      std::ostringstream what;
      what << "the loss became " << loss_value;
      stop(what.str(), t, lr);
      result.iterations = t;
      break;
    }
    const int64_t done = t + 1;
    result.iterations = done;

    // A checkpoint only ever holds a finite model: the step just taken may have left weights
    // that are not, while the loss it reported (computed before the step) still was.
    const bool last = done == options.iterations;
    if (options.eval_every > 0 && (done % options.eval_every == 0 || last)) {
      const auto eval = test(model, test_set, options.eval_batch_size, options.group.get());
      result.final_test_accuracy = eval.accuracy;
      result.final_test_loss = eval.loss;
      result.best_test_accuracy =
          std::max(result.best_test_accuracy.value_or(eval.accuracy), eval.accuracy);
      log.eval_row(done, eval, train_seconds);
      if (!std::isfinite(eval.loss) || !is_finite(model)) {
        std::ostringstream what;
        what << "the test loss became " << eval.loss;
        stop(what.str(), done, lr);
        break;
      }
      if (!options.checkpoint.empty()) save();
    } else if (last && !options.checkpoint.empty()) {
      if (!is_finite(model)) {
        stop("the model's weights became non-finite", done, lr);
        break;
      }
      save();
    }
  }
  log.finish();

  facts.cpu_seconds = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  const int64_t trained = result.iterations - resume.iteration();
  result.images_per_second =
      trained > 0 ? trained * options.batch_size / std::max(train_seconds, 1e-9) : 0.0;
  result.wall_seconds = resume.header().wall_seconds + seconds_since(wall_start);
  result.final_lr = current_lr(*optimizer);
  if (!options.out_dir.empty()) write_summary(options, result, facts);
  return result;
}

}  // namespace cifar10
