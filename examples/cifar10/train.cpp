#include "train.h"

#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <numeric>
#include <optional>
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

const char* const kTrainHeader = "iteration,lr,momentum,loss";
const char* const kEvalHeader = "iteration,test_loss,test_accuracy";

// The first column of a CSV row as an iteration, or nullopt.
std::optional<int64_t> row_iteration(const std::string& line) {
  int64_t iteration = 0;
  const char* end = line.data() + line.size();
  const auto [stop, error] = std::from_chars(line.data(), end, iteration);
  if (error != std::errc() || stop == end || *stop != ',' || iteration < 0) return std::nullopt;
  return iteration;
}

// What eval.csv says: its last row and the best accuracy.
struct EvalHistory {
  std::optional<int64_t> last_iteration;
  std::optional<double> last_loss, last_accuracy, best_accuracy;
};

EvalHistory read_eval_csv(const std::string& path) {
  EvalHistory history;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const auto iteration = row_iteration(line);
    double loss = 0, accuracy = 0;
    if (!iteration ||
        std::sscanf(line.c_str() + line.find(',') + 1, "%lf,%lf", &loss, &accuracy) != 2) {
      continue;
    }
    history.last_iteration = iteration;
    history.last_loss = loss;
    history.last_accuracy = accuracy;
    history.best_accuracy = std::max(history.best_accuracy.value_or(accuracy), accuracy);
  }
  return history;
}

void warn(const std::string& message) { std::cerr << "warning: " << message << "\n"; }

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

// The checkpoint's directory is created and a file written there before any training, so that a
// bad --checkpoint fails at once rather than after hours.
void prepare_checkpoint_path(const std::string& path) {
  if (path.empty()) return;
  TORCH_CHECK(!fs::is_directory(path), "train: expected --checkpoint to name a file, but '", path,
              "' is a directory");
  const auto parent = fs::path(path).parent_path();
  std::error_code error;
  if (!parent.empty()) fs::create_directories(parent, error);
  TORCH_CHECK(!error, "train: cannot create the directory of --checkpoint '", path,
              "': ", error.message());
  const std::string probe = path + ".partial";
  try {
    replace_file(probe, "");
  } catch (const c10::Error& e) {
    TORCH_CHECK(false, "train: cannot write --checkpoint '", path, "' (",
                e.what_without_backtrace(), ")");
  }
  fs::remove(probe);
}

void save_checkpoint(const std::string& path, CifarNet& model, torch::optim::Optimizer& optimizer,
                     const Schedule& schedule, const std::vector<Flag>& flags, double wall_seconds,
                     double train_seconds) {
  torch::serialize::OutputArchive archive, model_archive, optimizer_archive, schedule_archive;
  model->save(model_archive);
  optimizer.save(optimizer_archive);
  schedule.save(schedule_archive);
  archive.write("format", c10::IValue(kCheckpointFormat));
  archive.write("flags", c10::IValue(format_flags(flags)));
  archive.write("model", model_archive);
  archive.write("optimizer", optimizer_archive);
  archive.write("schedule", schedule_archive);
  archive.write("iteration", torch::tensor(schedule.iteration(), torch::kInt64));
  archive.write("wall_seconds", torch::tensor(wall_seconds, torch::kFloat64));
  archive.write("train_seconds", torch::tensor(train_seconds, torch::kFloat64));
  write_checkpoint_file(archive, path);
}

// The first line of an error, without LibTorch's backtrace; LibTorch's internal assertions (its
// own way to fail on a foreign state) say nothing a user can act on.
std::string reason(const std::exception& e) {
  const auto* error = dynamic_cast<const c10::Error*>(&e);
  std::string text = error ? error->what_without_backtrace() : e.what();
  text = text.substr(0, text.find('\n'));
  return text.find("INTERNAL ASSERT") == std::string::npos ? text : "LibTorch could not load it";
}

template <typename Load>
void restore_part(torch::serialize::InputArchive& archive, const std::string& name,
                  const std::string& key, const std::string& what, Load load) {
  try {
    torch::serialize::InputArchive part;
    archive.read(key, part);
    load(part);
  } catch (const std::exception& e) {
    TORCH_CHECK(false, "train: the checkpoint '", name, "' holds a ", key,
                " state that does not fit ", what, " (", reason(e), ")");
  }
}

// The flags-built resume must agree with the checkpoint before anything is loaded.
void check_resume(const CheckpointHeader& header, const std::vector<Flag>& flags,
                  const TrainOptions& options) {
  const auto differences = flag_differences(header.flags, flags);
  if (header.format >= 2 && !differences.empty()) {
    std::string list;
    for (const auto& d : differences) list += "\n  " + d;
    TORCH_CHECK(false, "train: the flags disagree with the checkpoint '", options.resume,
                "' (resume with the flags it was written with, or start a new run without "
                "--resume):",
                list);
  }
  TORCH_CHECK(header.iteration <= options.iterations, "--iters: the checkpoint '", options.resume,
              "' is at iteration ", header.iteration, ", past --iters ", options.iterations);
}

// The LRs the current stage's scheduler gives from now on: the same for a schedule built from
// the flags and for one restored from a checkpoint of the same run.
std::vector<double> upcoming_lrs(Schedule& schedule) {
  auto& scheduler = schedule.scheduler();
  std::vector<double> lrs;
  for (const int64_t ahead : {0, 1, 2, 3, 5, 10, 100, 1000, 10000}) {
    lrs.push_back(scheduler.lr_at(scheduler.last_step() + ahead, 0));
  }
  return lrs;
}

void check_same_lrs(const std::vector<double>& flags, const std::vector<double>& restored,
                    const std::string& name, int64_t iteration) {
  for (size_t i = 0; i < flags.size(); ++i) {
    const bool same = flags[i] == restored[i] || (std::isnan(flags[i]) && std::isnan(restored[i]));
    TORCH_CHECK(same, "train: the checkpoint '", name,
                "' holds another schedule than the flags give (from iteration ", iteration,
                " on, its LRs include ", restored[i], " where the flags give ", flags[i],
                "); resume with the flags it was written with");
  }
}

struct DataSizes {
  int64_t train = 0;
  int64_t test = 0;
};

void write_summary(const TrainOptions& options, const PolicyOptions& policy,
                   const TrainResult& result, int64_t resumed_from, double cpu_seconds,
                   const DataSizes& sizes, int64_t world, const std::string& note) {
  Json summary;
  summary.add("policy", policy_name(policy.policy));
  summary.add("schedule", policy.describe());
  summary.add("optimizer", optimizer_name(options.optimizer));
  summary.add("iterations", result.iterations);
  summary.add("target_iterations", options.iterations);
  summary.add("batch_size", options.batch_size);
  summary.add("final_test_accuracy", result.final_test_accuracy);
  summary.add("best_test_accuracy", result.best_test_accuracy);
  summary.add("final_test_loss", result.final_test_loss);
  summary.add("final_lr", result.final_lr);
  summary.add("images_per_second", result.images_per_second);
  summary.add("wall_seconds", result.wall_seconds);
  // Processor time of this invocation's loop, evaluations included: on a shared machine, images
  // per CPU-second measure the program's own cost better than images per second.
  summary.add("cpu_seconds", cpu_seconds);
  summary.add("resumed_from", resumed_from);
  summary.add("threads", static_cast<int64_t>(options.threads));
  summary.add("world_size", world);
  summary.add("device", options.device.str());
  summary.add("seed", static_cast<int64_t>(options.seed));
  summary.add("dataset", options.dataset);
  summary.add("train_images", sizes.train);
  summary.add("test_images", sizes.test);
  summary.add("diverged", result.diverged);
  if (result.diverged) summary.add("message", result.message);
  if (!note.empty()) summary.add("note", note);
  summary.add("command", options.command);
  summary.add("machine", machine_description());
  summary.add("torch_version", torch_version());
  summary.write(options.out_dir + "/summary.json");
}

// A resume of a checkpoint at the last iteration: nothing to train. The run's summary.json
// stays as it is; where it is missing or stale (a kill between the last checkpoint and the
// summary), it is written again from the checkpoint and eval.csv.
TrainResult finished_run(const TrainOptions& options, const PolicyOptions& policy,
                         const Schedule& schedule, const CheckpointHeader& resumed,
                         const DataSizes& sizes, int64_t world) {
  TrainResult result;
  result.already_finished = true;
  result.iterations = resumed.iteration;
  result.final_lr = schedule.lr();
  result.wall_seconds = resumed.wall_seconds;
  if (resumed.train_seconds > 0) {
    result.images_per_second = resumed.iteration * options.batch_size / resumed.train_seconds;
  }
  if (options.progress) {
    std::cerr << "train: '" << options.resume << "' is already at iteration " << resumed.iteration
              << " of " << options.iterations << ": nothing to train\n";
  }
  if (options.out_dir.empty()) return result;
  const auto history = read_eval_csv(options.out_dir + "/eval.csv");
  result.best_test_accuracy = history.best_accuracy;
  if (history.last_iteration == resumed.iteration) {
    result.final_test_accuracy = history.last_accuracy;
    result.final_test_loss = history.last_loss;
  }
  const auto summary = read_text(options.out_dir + "/summary.json");
  const auto done = static_cast<double>(resumed.iteration);
  if (json_number(summary, "iterations") != done ||
      json_number(summary, "target_iterations") != done) {
    write_summary(options, policy, result, resumed.iteration, 0.0, sizes, world,
                  "written again from the final checkpoint and eval.csv: the run that trained "
                  "it stopped before its summary");
  }
  return result;
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

// Opens train.csv and eval.csv for appending. A resume keeps the rows before the checkpoint
// (each file replaced whole, never rewritten in place) and says when some are missing.
void open_logs(const TrainOptions& options, std::optional<int64_t> resumed_at,
               std::ofstream& train_log, std::ofstream& eval_log) {
  const std::string train_csv = options.out_dir + "/train.csv";
  const std::string eval_csv = options.out_dir + "/eval.csv";
  fs::create_directories(options.out_dir);
  const int64_t from = resumed_at.value_or(0);
  const int64_t kept = rewrite_csv(train_csv, kTrainHeader, from);
  rewrite_csv(eval_csv, kEvalHeader, from + 1);
  if (resumed_at && kept != from) {
    warn(train_csv + " holds " + std::to_string(kept) + " of the " + std::to_string(from) +
         " rows before iteration " + std::to_string(from) +
         "; the others were lost before this resume");
  }
  train_log.open(train_csv, std::ios::app);
  eval_log.open(eval_csv, std::ios::app);
  TORCH_CHECK(train_log && eval_log, "train: cannot write to '", options.out_dir, "'");
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

void check_train_options(const TrainOptions& options) {
  TORCH_CHECK(options.iterations >= 1, "--iters: expected an integer >= 1, but got ",
              options.iterations);
  TORCH_CHECK(options.batch_size >= 1, "--batch-size: expected an integer >= 1, but got ",
              options.batch_size);
  TORCH_CHECK(options.eval_every >= 0, "--eval-every: expected an integer >= 0, but got ",
              options.eval_every);
  TORCH_CHECK(options.eval_batch_size >= 1,
              "train: expected an evaluation batch size >= 1, but got ", options.eval_batch_size);
  PolicyOptions policy = options.policy;
  policy.iterations = options.iterations;
  check_policy_options(policy);
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
  check_train_options(options);
  TORCH_CHECK(given.batch_size % world == 0, "--batch-size: expected a multiple of the ", world,
              " ranks, but got ", given.batch_size);
  TORCH_CHECK(options.batch_size <= train_data.size(), "--batch-size: expected at most ",
              train_data.size(), " (the training images), but got ", options.batch_size);
  prepare_checkpoint_path(options.checkpoint);
  const auto wall_start = Clock::now();
  const auto device = options.device;
  const DataSizes sizes{train_data.size(), test_data.size()};

  torch::manual_seed(options.seed);
  CifarNet model(train_data.images.size(1));
  model->to(device);
  auto groups = caffe_param_groups(model);
  auto optimizer = make_optimizer(options.optimizer, groups, options.policy.base_lr);

  PolicyOptions policy = options.policy;
  policy.iterations = options.iterations;
  const auto flags = resume_flags(options, sizes.train);

  // (Not std::optional: clang rejects an optional of LibTorch's copy-deleted archive.)
  std::unique_ptr<CheckpointFile> checkpoint;
  CheckpointHeader resumed;
  if (!options.resume.empty()) {
    checkpoint = std::make_unique<CheckpointFile>(read_checkpoint_file(options.resume, device));
    resumed = read_checkpoint_header(*checkpoint, options.resume);
    check_resume(resumed, flags, options);
  }
  Schedule schedule(*optimizer, options.optimizer, policy, lr_multipliers(groups),
                    resumed.iteration);
  std::optional<int64_t> saved;  // the iteration the checkpoint file holds
  if (checkpoint) {
    const auto expected = upcoming_lrs(schedule);
    restore_checkpoint(checkpoint->archive, options.resume, model, *optimizer, schedule);
    check_same_lrs(expected, upcoming_lrs(schedule), options.resume, resumed.iteration);
    if (resumed.format < kCheckpointFormat && rank == 0) {
      std::cerr << "note: '" << options.resume << "' is a checkpoint from before checksums and "
                << "recorded flags: it was loaded unverified, and its LR schedule agrees with "
                   "the flags\n";
    }
    if (options.checkpoint == options.resume) saved = resumed.iteration;
    if (resumed.iteration == options.iterations) {
      return finished_run(options, policy, schedule, resumed, sizes, world);
    }
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

  std::ofstream train_log, eval_log;
  TrainResult result;
  if (!options.out_dir.empty()) {
    open_logs(options, checkpoint ? std::optional<int64_t>(resumed.iteration) : std::nullopt,
              train_log, eval_log);
    if (checkpoint) {
      result.best_test_accuracy = read_eval_csv(options.out_dir + "/eval.csv").best_accuracy;
    }
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
  const auto save = [&] {
    save_checkpoint(options.checkpoint, model, *optimizer, schedule, flags,
                    resumed.wall_seconds + seconds_since(wall_start),
                    resumed.train_seconds + train_seconds);
    saved = schedule.iteration();
  };
  const auto stop = [&](const std::string& what, int64_t iteration, double lr) {
    result.diverged = true;
    result.message = divergence(what, iteration, lr, options.checkpoint, saved);
  };

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
      std::ostringstream what;
      what << "the loss became " << loss_value;
      stop(what.str(), t, lr);
      result.iterations = t;
      break;
    }
    recent_loss += loss_value;
    ++recent_count;
    const int64_t done = t + 1;
    progress.update(done, loss_value, lr, train_seconds);
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
      progress.evaluation(done, recent_loss / std::max<int64_t>(1, recent_count), eval,
                          train_seconds);
      recent_loss = 0.0;
      recent_count = 0;
      if (eval_log.is_open()) {
        eval_log << done << "," << eval.loss << "," << eval.accuracy << "\n";
        eval_log.flush();
        train_log.flush();
      }
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
  progress.finish();
  const double cpu_seconds = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  train_log.flush();
  eval_log.flush();

  const int64_t trained = result.iterations - resumed.iteration;
  result.images_per_second = trained > 0 ? trained * batch / std::max(train_seconds, 1e-9) : 0.0;
  result.wall_seconds = resumed.wall_seconds + seconds_since(wall_start);
  result.final_lr = schedule.lr();
  if (!options.out_dir.empty()) {
    write_summary(options, policy, result, resumed.iteration, cpu_seconds, sizes, world, "");
  }
  return result;
}

std::vector<Flag> run_flags(const TrainOptions& options) {
  PolicyOptions p = options.policy;
  p.iterations = options.iterations;
  std::vector<Flag> flags{{"--policy", policy_name(p.policy)},
                          {"--optimizer", optimizer_name(options.optimizer)},
                          {"--iters", std::to_string(options.iterations)},
                          {"--batch-size", std::to_string(options.batch_size)}};
  const auto add = [&flags](const char* flag, const std::string& value) {
    flags.emplace_back(flag, value);
  };
  switch (p.policy) {
    case Policy::Fixed:
    case Policy::Exp:
      add("--base-lr", exact_number(p.base_lr));
      if (p.policy == Policy::Exp) add("--gamma", exact_number(p.effective_gamma()));
      break;
    case Policy::MultiStep: {
      add("--base-lr", exact_number(p.base_lr));
      add("--gamma", exact_number(p.effective_gamma()));
      std::string milestones;
      for (const auto m : p.effective_milestones()) {
        milestones += (milestones.empty() ? "" : ",") + std::to_string(m);
      }
      add("--milestones", milestones);
      break;
    }
    case Policy::Decay:
    case Policy::OneCycle:
      add("--base-lr", exact_number(p.base_lr));
      add("--max-lr", exact_number(p.max_lr));
      if (p.policy == Policy::Decay) add("--step-size", std::to_string(p.step_size));
      break;
    default:
      if (p.stages.empty()) {
        add("--base-lr", exact_number(p.base_lr));
        add("--max-lr", exact_number(p.max_lr));
        add("--step-size", std::to_string(p.step_size));
      } else {
        add("--stages", format_stages(p.stages));
      }
      if (p.policy == Policy::ExpRange) add("--gamma", exact_number(p.effective_gamma()));
  }
  add("--eval-every", std::to_string(options.eval_every));
  add("--seed", std::to_string(options.seed));
  return flags;
}

std::vector<Flag> resume_flags(const TrainOptions& options, int64_t train_images) {
  std::vector<Flag> flags;
  for (auto& flag : run_flags(options)) {
    const bool length = flag.first == "--iters" && options.policy.policy != Policy::OneCycle;
    if (!length && flag.first != "--eval-every") flags.push_back(std::move(flag));
  }
  flags.emplace_back("training images", std::to_string(train_images));
  return flags;
}

std::string train_arguments(const TrainOptions& options) {
  std::string text;
  for (const auto& [flag, value] : run_flags(options)) {
    text += (text.empty() ? "" : " ") + flag + " " + value;
  }
  return text;
}

CheckpointHeader read_checkpoint_header(CheckpointFile& file, const std::string& name) {
  CheckpointHeader header;
  header.format = file.format;
  torch::Tensor iteration, wall, train;
  try {
    file.archive.read("iteration", iteration);
    file.archive.read("wall_seconds", wall);
    file.archive.read("train_seconds", train);
    TORCH_CHECK(iteration.numel() == 1 && wall.numel() == 1 && train.numel() == 1,
                "its header entries are not single numbers");
    if (header.format >= 2) {
      c10::IValue flags;
      file.archive.read("flags", flags);
      TORCH_CHECK(flags.isString(), "its flags are not text");
      header.flags = parse_flags(flags.toStringRef());
    }
  } catch (const std::exception& e) {
    TORCH_CHECK(false, "train: '", name, "' is not a cifar10 checkpoint (", reason(e), ")");
  }
  header.iteration = iteration.item<int64_t>();
  header.wall_seconds = wall.item<double>();
  header.train_seconds = train.item<double>();
  TORCH_CHECK(header.iteration >= 0 && std::isfinite(header.wall_seconds) &&
                  std::isfinite(header.train_seconds),
              "train: the checkpoint '", name, "' has a damaged header (iteration ",
              header.iteration, ", times ", header.wall_seconds, " and ", header.train_seconds,
              " s)");
  return header;
}

void restore_checkpoint(torch::serialize::InputArchive& archive, const std::string& name,
                        CifarNet& model, torch::optim::Optimizer& optimizer, Schedule& schedule) {
  restore_part(archive, name, "model", "the network",
               [&](torch::serialize::InputArchive& part) { model->load(part); });
  restore_part(archive, name, "optimizer", "--optimizer (written with another optimizer?)",
               [&](torch::serialize::InputArchive& part) { optimizer.load(part); });
  restore_part(archive, name, "schedule", "--policy and its flags",
               [&](torch::serialize::InputArchive& part) { schedule.load(part); });
}

int64_t rewrite_csv(const std::string& path, const std::string& header, int64_t limit) {
  std::ifstream in(path, std::ios::binary);
  std::string kept = header + "\n", line;
  int64_t rows = 0;
  while (std::getline(in, line)) {
    if (in.eof()) break;  // an unfinished last line: the process was killed while writing it
    const auto iteration = row_iteration(line);
    if (!iteration || *iteration >= limit) continue;  // the header, and rows to be redone
    kept += line + "\n";
    ++rows;
  }
  in.close();
  replace_file(path, kept);
  return rows;
}

}  // namespace cifar10
