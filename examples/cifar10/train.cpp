#include "train.h"

#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <numeric>
#include <random>
#include <sstream>

#include "report.h"

namespace fs = std::filesystem;
namespace F = torch::nn::functional;

namespace cifar10 {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string format_duration(double seconds) {
  const auto s = static_cast<int64_t>(std::max(0.0, seconds));
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  return buffer;
}

// Keeps the rows of a CSV (header kept) whose first column is below `limit`: a resumed run
// rewrites the iterations after its checkpoint.
void truncate_csv(const std::string& path, int64_t limit) {
  std::ifstream in(path);
  if (!in) return;
  std::string header, line, kept;
  std::getline(in, header);
  while (std::getline(in, line)) {
    if (!line.empty() && std::stoll(line) < limit) kept += line + "\n";
  }
  in.close();
  std::ofstream out(path, std::ios::trunc);
  out << header << "\n" << kept;
}

// The running best test accuracy of the eval.csv rows kept on resume.
std::optional<double> best_accuracy_in(const std::string& path) {
  std::ifstream in(path);
  std::optional<double> best;
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    const auto comma = line.rfind(',');
    if (comma == std::string::npos) continue;
    const double accuracy = std::stod(line.substr(comma + 1));
    best = best ? std::max(*best, accuracy) : accuracy;
  }
  return best;
}

class Progress {
 public:
  Progress(bool enabled, std::string label, int64_t total, int64_t start)
      : enabled_(enabled),
        terminal_(isatty(STDERR_FILENO) != 0),
        label_(std::move(label)),
        total_(total),
        start_iteration_(start),
        start_(Clock::now()),
        last_(start_) {}

  void update(int64_t done, double loss, double lr, double train_seconds) {
    if (!enabled_ || !terminal_) return;
    if (std::chrono::duration<double>(Clock::now() - last_).count() < 0.5 && done < total_) return;
    last_ = Clock::now();
    std::fprintf(stderr, "\r%s %lld/%lld  loss %.4f  lr %.3g  %s   ", label_.c_str(),
                 static_cast<long long>(done), static_cast<long long>(total_), loss, lr,
                 rate(done, train_seconds).c_str());
    std::fflush(stderr);
  }

  void evaluation(int64_t done, double loss, const EvalResult& eval, double train_seconds) {
    if (!enabled_) return;
    std::fprintf(stderr, "%s%s %lld/%lld  loss %.4f  test loss %.4f  test accuracy %.2f%%  %s\n",
                 terminal_ ? "\r" : "", label_.c_str(), static_cast<long long>(done),
                 static_cast<long long>(total_), loss, eval.loss, eval.accuracy,
                 rate(done, train_seconds).c_str());
    std::fflush(stderr);
  }

  void finish() {
    if (enabled_ && terminal_) std::fprintf(stderr, "\n");
  }

 private:
  std::string rate(int64_t done, double train_seconds) const {
    const double per_second = (done - start_iteration_) / std::max(train_seconds, 1e-9);
    const double elapsed = seconds_since(start_);
    const double eta = elapsed / std::max<int64_t>(1, done - start_iteration_) * (total_ - done);
    char buffer[96];
    std::snprintf(buffer, sizeof(buffer), "%.1f it/s  ETA %s", per_second,
                  format_duration(eta).c_str());
    return buffer;
  }

  bool enabled_, terminal_;
  std::string label_;
  int64_t total_, start_iteration_;
  Clock::time_point start_, last_;
};

void save_checkpoint(const std::string& path, CifarNet& model, torch::optim::Optimizer& optimizer,
                     const Schedule& schedule, double wall_seconds, double train_seconds) {
  torch::serialize::OutputArchive archive, model_archive, optimizer_archive, schedule_archive;
  model->save(model_archive);
  optimizer.save(optimizer_archive);
  schedule.save(schedule_archive);
  archive.write("model", model_archive);
  archive.write("optimizer", optimizer_archive);
  archive.write("schedule", schedule_archive);
  archive.write("iteration", torch::tensor(schedule.iteration(), torch::kInt64));
  archive.write("wall_seconds", torch::tensor(wall_seconds, torch::kFloat64));
  archive.write("train_seconds", torch::tensor(train_seconds, torch::kFloat64));
  const std::string partial = path + ".partial";
  archive.save_to(partial);
  fs::rename(partial, path);
}

struct CheckpointHeader {
  int64_t iteration = 0;
  double wall_seconds = 0.0;
  double train_seconds = 0.0;
};

CheckpointHeader read_checkpoint_header(torch::serialize::InputArchive& archive) {
  torch::Tensor iteration, wall, train;
  archive.read("iteration", iteration);
  archive.read("wall_seconds", wall);
  archive.read("train_seconds", train);
  return {iteration.item<int64_t>(), wall.item<double>(), train.item<double>()};
}

}  // namespace

void shuffle_epoch(torch::Tensor& order, uint64_t seed, int64_t epoch) {
  auto* data = order.data_ptr<int64_t>();
  std::iota(data, data + order.numel(), int64_t{0});
  std::seed_seq seq{seed, static_cast<uint64_t>(epoch)};
  std::mt19937_64 rng(seq);
  std::shuffle(data, data + order.numel(), rng);
}

torch::Tensor rank_batch(const torch::Tensor& epoch_order, int64_t t, int64_t batch, int64_t rank,
                         int64_t world) {
  const int64_t local_batch = batch / world;
  return epoch_order.narrow(0, t * batch + rank * local_batch, local_batch);
}

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

TrainResult train(const TrainOptions& given, const ImageData& train_data,
                  const ImageData& test_data) {
  const int64_t world = given.group ? given.group->world_size() : 1;
  const int64_t rank = given.group ? given.group->rank() : 0;
  // Rank 0 alone writes CSVs, checkpoints and progress.
  TrainOptions options = given;
  if (rank != 0) {
    options.out_dir.clear();
    options.checkpoint.clear();
    options.progress = false;
  }
  TORCH_CHECK(given.batch_size % world == 0, "train: expected a batch size divisible by the ",
              world, " ranks, but got ", given.batch_size);
  TORCH_CHECK(options.iterations >= 1, "train: expected iterations >= 1, but got ",
              options.iterations);
  TORCH_CHECK(options.batch_size >= 1 && options.batch_size <= train_data.size(),
              "train: expected a batch size between 1 and ", train_data.size(), ", but got ",
              options.batch_size);
  const auto wall_start = Clock::now();
  const auto device = options.device;

  torch::manual_seed(options.seed);
  CifarNet model(train_data.images.size(1));
  model->to(device);
  auto groups = caffe_param_groups(model);
  auto optimizer = make_optimizer(options.optimizer, groups, options.policy.base_lr);

  PolicyOptions policy = options.policy;
  policy.iterations = options.iterations;

  std::optional<torch::serialize::InputArchive> checkpoint;
  CheckpointHeader resumed;
  if (!options.resume.empty()) {
    TORCH_CHECK(fs::is_regular_file(options.resume), "train: no checkpoint at '", options.resume,
                "'");
    checkpoint.emplace();
    checkpoint->load_from(options.resume, device);
    resumed = read_checkpoint_header(*checkpoint);
    TORCH_CHECK(resumed.iteration <= options.iterations, "train: the checkpoint is at iteration ",
                resumed.iteration, ", past --iters ", options.iterations);
  }
  Schedule schedule(*optimizer, options.optimizer, policy, lr_multipliers(groups),
                    resumed.iteration);
  if (checkpoint) {
    torch::serialize::InputArchive model_archive, optimizer_archive, schedule_archive;
    checkpoint->read("model", model_archive);
    checkpoint->read("optimizer", optimizer_archive);
    checkpoint->read("schedule", schedule_archive);
    model->load(model_archive);
    optimizer->load(optimizer_archive);
    schedule.load(schedule_archive);
  }

  std::optional<torchclr::GradientAverager> averager;
  if (world > 1) {
    torchclr::broadcast_module(*options.group, *model);  // every rank starts from rank 0's state
    averager.emplace(options.group, model->parameters());
  }

  // Everything the loop touches lives on the device and is allocated once.
  ImageData train_set{train_data.images.to(device), train_data.targets.to(device)};
  ImageData test_set{test_data.images.to(device), test_data.targets.to(device)};
  const int64_t batch = options.batch_size;
  const int64_t batches_per_epoch = train_set.size() / batch;
  auto order = torch::empty({train_set.size()}, torch::kInt64);
  auto order_device = order.to(device);
  const int64_t local_batch = batch / world;  // this rank's share of each global batch
  auto images =
      torch::empty({local_batch, train_set.images.size(1), 32, 32}, train_set.images.options());
  auto targets = torch::empty({local_batch}, train_set.targets.options());

  const std::string train_csv = options.out_dir.empty() ? "" : options.out_dir + "/train.csv";
  const std::string eval_csv = options.out_dir.empty() ? "" : options.out_dir + "/eval.csv";
  std::ofstream train_log, eval_log;
  TrainResult result;
  if (!options.out_dir.empty()) {
    fs::create_directories(options.out_dir);
    if (checkpoint) {
      truncate_csv(train_csv, resumed.iteration);
      truncate_csv(eval_csv, resumed.iteration + 1);
      result.best_test_accuracy = best_accuracy_in(eval_csv);
      train_log.open(train_csv, std::ios::app);
      eval_log.open(eval_csv, std::ios::app);
    } else {
      train_log.open(train_csv, std::ios::trunc);
      eval_log.open(eval_csv, std::ios::trunc);
      train_log << "iteration,lr,momentum,loss\n";
      eval_log << "iteration,test_loss,test_accuracy\n";
    }
    TORCH_CHECK(train_log && eval_log, "train: cannot write to '", options.out_dir, "'");
  }

  Progress progress(options.progress, options.label.empty() ? policy.describe() : options.label,
                    options.iterations, resumed.iteration);
  double train_seconds = 0.0;
  const std::clock_t cpu_start = std::clock();
  double recent_loss = 0.0;
  int64_t recent_count = 0;
  int64_t epoch = -1;
  char line[128];
  model->train();

  for (int64_t t = resumed.iteration; t < options.iterations; ++t) {
    const auto step_start = Clock::now();
    if (t / batches_per_epoch != epoch) {
      epoch = t / batches_per_epoch;
      shuffle_epoch(order, options.seed, epoch);
      if (device != torch::kCPU) order_device.copy_(order);
    }
    const auto& epoch_order = device == torch::kCPU ? order : order_device;
    gather_batch(train_set, rank_batch(epoch_order, t % batches_per_epoch, batch, rank, world),
                 images, targets);
    const double lr = schedule.lr();
    const double momentum = current_momentum(*optimizer, options.optimizer);

    model->zero_grad(/*set_to_none=*/true);
    auto loss = F::cross_entropy(model->forward(images), targets);
    loss.backward();
    if (averager) averager->synchronize();
    optimizer->step();
    double loss_value = loss.item<double>();
    // Every rank logs, and stops on, the same (mean) loss.
    if (world > 1) loss_value = options.group->all_reduce_mean(loss_value);
    schedule.step();
    train_seconds += seconds_since(step_start);

    if (train_log.is_open()) {
      const int n = std::snprintf(line, sizeof(line), "%lld,%.9g,%.6g,%.6g\n",
                                  static_cast<long long>(t), lr, momentum, loss_value);
      train_log.write(line, n);
    }
    if (!std::isfinite(loss_value)) {
      result.diverged = true;
      std::ostringstream message;
      message << "the loss became " << loss_value << " at iteration " << t << " (lr " << lr
              << "): training diverged; try a lower --max-lr or --base-lr";
      result.message = message.str();
      result.iterations = t;
      break;
    }
    recent_loss += loss_value;
    ++recent_count;
    const int64_t done = t + 1;
    progress.update(done, loss_value, lr, train_seconds);

    const bool last = done == options.iterations;
    if (options.eval_every > 0 && (done % options.eval_every == 0 || last)) {
      const auto eval = test(model, test_set, options.eval_batch_size, options.group.get());
      result.final_test_accuracy = eval.accuracy;
      result.final_test_loss = eval.loss;
      result.best_test_accuracy =
          std::max(result.best_test_accuracy.value_or(eval.accuracy), eval.accuracy);
      progress.evaluation(done, recent_loss / std::max<int64_t>(1, recent_count), eval,
                          train_seconds);
      recent_loss = 0.0;
      recent_count = 0;
      if (eval_log.is_open()) {
        eval_log << done << "," << eval.loss << "," << eval.accuracy << "\n";
        eval_log.flush();
        train_log.flush();
      }
      if (!options.checkpoint.empty()) {
        save_checkpoint(options.checkpoint, model, *optimizer, schedule,
                        resumed.wall_seconds + seconds_since(wall_start),
                        resumed.train_seconds + train_seconds);
      }
    } else if (last && !options.checkpoint.empty()) {
      save_checkpoint(options.checkpoint, model, *optimizer, schedule,
                      resumed.wall_seconds + seconds_since(wall_start),
                      resumed.train_seconds + train_seconds);
    }
    result.iterations = done;
  }
  progress.finish();
  const double cpu_seconds = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  train_log.flush();
  eval_log.flush();

  const int64_t trained = result.iterations - resumed.iteration;
  result.images_per_second = trained > 0 ? trained * batch / std::max(train_seconds, 1e-9) : 0.0;
  result.wall_seconds = resumed.wall_seconds + seconds_since(wall_start);
  result.final_lr = schedule.lr();

  if (!options.out_dir.empty()) {
    Json summary;
    summary.add("policy", policy_name(policy.policy));
    summary.add("schedule", policy.describe());
    summary.add("optimizer", optimizer_name(options.optimizer));
    summary.add("iterations", result.iterations);
    summary.add("target_iterations", options.iterations);
    summary.add("batch_size", batch);
    summary.add("final_test_accuracy", result.final_test_accuracy);
    summary.add("best_test_accuracy", result.best_test_accuracy);
    summary.add("final_test_loss", result.final_test_loss);
    summary.add("final_lr", result.final_lr);
    summary.add("images_per_second", result.images_per_second);
    summary.add("wall_seconds", result.wall_seconds);
    // Processor time of this invocation's loop, evaluations included: on a shared machine, images
    // per CPU-second measure the program's own cost better than images per second.
    summary.add("cpu_seconds", cpu_seconds);
    summary.add("resumed_from", resumed.iteration);
    summary.add("threads", static_cast<int64_t>(options.threads));
    summary.add("world_size", world);
    summary.add("device", device.str());
    summary.add("seed", static_cast<int64_t>(options.seed));
    summary.add("dataset", options.dataset);
    summary.add("diverged", result.diverged);
    if (result.diverged) summary.add("message", result.message);
    summary.add("command", options.command);
    summary.add("machine", machine_description());
    summary.add("torch_version", torch_version());
    summary.write(options.out_dir + "/summary.json");
  }
  return result;
}

std::string train_arguments(const TrainOptions& options) {
  const auto& p = options.policy;
  std::ostringstream out;
  out << "--policy " << policy_name(p.policy) << " --optimizer "
      << optimizer_name(options.optimizer) << " --iters " << options.iterations << " --batch-size "
      << options.batch_size;
  switch (p.policy) {
    case Policy::Fixed:
    case Policy::Exp:
      out << " --base-lr " << p.base_lr;
      if (p.policy == Policy::Exp) out << " --gamma " << p.effective_gamma();
      break;
    case Policy::MultiStep: {
      out << " --base-lr " << p.base_lr << " --gamma " << p.effective_gamma() << " --milestones ";
      const auto milestones = p.effective_milestones();
      for (size_t i = 0; i < milestones.size(); ++i) out << (i ? "," : "") << milestones[i];
      break;
    }
    case Policy::Decay:
    case Policy::OneCycle:
      out << " --base-lr " << p.base_lr << " --max-lr " << p.max_lr;
      if (p.policy == Policy::Decay) out << " --step-size " << p.step_size;
      break;
    default:
      if (p.stages.empty()) {
        out << " --base-lr " << p.base_lr << " --max-lr " << p.max_lr << " --step-size "
            << p.step_size;
      } else {
        out << " --stages " << format_stages(p.stages);
      }
      if (p.policy == Policy::ExpRange) out << " --gamma " << p.effective_gamma();
  }
  out << " --eval-every " << options.eval_every << " --seed " << options.seed;
  return out.str();
}

}  // namespace cifar10
