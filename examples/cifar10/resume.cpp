#include "resume.h"

#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <iostream>
#include <string>

#include "report.h"

namespace fs = std::filesystem;

namespace cifar10 {
namespace {

// The scheduler's state inside the checkpoint's "schedule" entry.
const char* const kSchedulerKey = "scheduler";

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

// The LRs the scheduler gives from now on: the same for a schedule built from the flags and for
// one restored from a checkpoint of the same run.
std::vector<double> upcoming_lrs(const torchclr::Scheduler& scheduler) {
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

}  // namespace

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
                     const torchclr::Scheduler& scheduler, const std::vector<Flag>& flags,
                     double wall_seconds, double train_seconds) {
  torch::serialize::OutputArchive archive, model_archive, optimizer_archive, schedule_archive,
      scheduler_archive;
  model->save(model_archive);
  optimizer.save(optimizer_archive);
  scheduler.save(scheduler_archive);
  schedule_archive.write(kSchedulerKey, scheduler_archive);
  archive.write("format", c10::IValue(kCheckpointFormat));
  archive.write("flags", c10::IValue(format_flags(flags)));
  archive.write("model", model_archive);
  archive.write("optimizer", optimizer_archive);
  archive.write("schedule", schedule_archive);
  archive.write("iteration", torch::tensor(scheduler.last_step(), torch::kInt64));
  archive.write("wall_seconds", torch::tensor(wall_seconds, torch::kFloat64));
  archive.write("train_seconds", torch::tensor(train_seconds, torch::kFloat64));
  write_checkpoint_file(archive, path);
}

std::vector<Flag> run_flags(const TrainOptions& options) {
  const PolicyOptions p = schedule_options(options);
  std::vector<Flag> flags{{"--policy", policy_name(p.policy)},
                          {"--optimizer", optimizer_name(options.optimizer)},
                          {"--iters", std::to_string(options.iterations)},
                          {"--batch-size", std::to_string(options.batch_size)}};
  for (auto& flag : policy_flags(p)) flags.push_back(std::move(flag));
  flags.emplace_back("--eval-every", std::to_string(options.eval_every));
  flags.emplace_back("--seed", std::to_string(options.seed));
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
                        CifarNet& model, torch::optim::Optimizer& optimizer,
                        torchclr::Scheduler& scheduler) {
  restore_part(archive, name, "model", "the network",
               [&](torch::serialize::InputArchive& part) { model->load(part); });
  restore_part(archive, name, "optimizer", "--optimizer (written with another optimizer?)",
               [&](torch::serialize::InputArchive& part) { optimizer.load(part); });
  restore_part(archive, name, "schedule", "--policy and its flags",
               [&](torch::serialize::InputArchive& part) {
                 torch::serialize::InputArchive state;
                 part.read(kSchedulerKey, state);
                 scheduler.load(state);
               });
}

Resume::Resume(const TrainOptions& options, const std::vector<Flag>& flags)
    : name_(options.resume) {
  if (name_.empty()) return;
  file_ = std::make_unique<CheckpointFile>(read_checkpoint_file(name_, options.device));
  header_ = read_checkpoint_header(*file_, name_);
  check_resume(header_, flags, options);
}

void Resume::restore(CifarNet& model, torch::optim::Optimizer& optimizer,
                     torchclr::Scheduler& scheduler) {
  TORCH_CHECK(file_, "Resume: there is no checkpoint to restore");
  const auto expected = upcoming_lrs(scheduler);
  restore_checkpoint(file_->archive, name_, model, optimizer, scheduler);
  TORCH_CHECK(scheduler.last_step() == header_.iteration, "train: the checkpoint '", name_,
              "' is damaged: its schedule is at iteration ", scheduler.last_step(),
              ", its header at ", header_.iteration);
  check_same_lrs(expected, upcoming_lrs(scheduler), name_, header_.iteration);
}

}  // namespace cifar10
