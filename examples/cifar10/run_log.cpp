#include "run_log.h"

#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "layers.h"
#include "policies.h"
#include "report.h"

namespace fs = std::filesystem;

namespace cifar10 {
namespace {

using Clock = std::chrono::steady_clock;

const char* const kTrainHeader = "iteration,lr,momentum,loss";
const char* const kEvalHeader = "iteration,test_loss,test_accuracy";
const char* const kSegmentsHeader =
    "iteration,started_utc,machine,libtorch,threads,world_size,device,flush_denormal,"
    "fused_layer_isa,onednn_max_cpu_isa,aten_cpu_capability";

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

// A CSV field: quoted where it holds a comma, a quote or a line break.
std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string quoted = "\"";
  for (const char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buffer;
}

// segments.csv's row for an invocation that trains from iteration `from`: where and how the
// iterations from `from` to the next row's (or the end) ran.
std::string segment_row(const TrainOptions& options, int64_t from) {
  const auto numerics = numerics_facts();
  const int64_t world = options.group ? options.group->world_size() : 1;
  std::ostringstream row;
  row << from << "," << utc_now() << "," << csv_field(machine_description()) << ","
      << torch_version() << "," << options.threads << "," << world << ","
      << csv_field(options.device.str()) << "," << (options.flush_denormal ? 1 : 0) << ","
      << csv_field(numerics.fused_layer_isa) << "," << csv_field(numerics.onednn_max_cpu_isa) << ","
      << csv_field(numerics.aten_cpu_capability) << "\n";
  return row.str();
}

std::string format_duration(double seconds) {
  const auto s = static_cast<int64_t>(std::max(0.0, seconds));
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  return buffer;
}

// The first column of a CSV row as an iteration, or nullopt.
std::optional<int64_t> row_iteration(const std::string& line) {
  int64_t iteration = 0;
  const char* end = line.data() + line.size();
  const auto [stop, error] = std::from_chars(line.data(), end, iteration);
  if (error != std::errc() || stop == end || *stop != ',' || iteration < 0) return std::nullopt;
  return iteration;
}

nlohmann::json optional_number(const std::optional<double>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

std::optional<double> optional_number(const nlohmann::json& summary, const char* key) {
  const auto at = summary.find(key);
  if (at == summary.end() || !at->is_number()) return std::nullopt;
  return at->get<double>();
}

}  // namespace

// A progress line on stderr: overwritten in place on a terminal, one line per evaluation
// otherwise.
class RunLog::Progress {
 public:
  Progress(std::string label, int64_t total, int64_t start)
      : terminal_(isatty(STDERR_FILENO) != 0),
        label_(std::move(label)),
        total_(total),
        start_iteration_(start),
        start_(Clock::now()),
        last_(start_) {}

  void update(int64_t done, double loss, double lr, double train_seconds) {
    if (!terminal_) return;
    if (std::chrono::duration<double>(Clock::now() - last_).count() < 0.5 && done < total_) return;
    last_ = Clock::now();
    std::fprintf(stderr, "\r%s %lld/%lld  loss %.4f  lr %.3g  %s   ", label_.c_str(),
                 static_cast<long long>(done), static_cast<long long>(total_), loss, lr,
                 rate(done, train_seconds).c_str());
    std::fflush(stderr);
  }

  void evaluation(int64_t done, double loss, const EvalResult& eval, double train_seconds) {
    std::fprintf(stderr, "%s%s %lld/%lld  loss %.4f  test loss %.4f  test accuracy %.2f%%  %s\n",
                 terminal_ ? "\r" : "", label_.c_str(), static_cast<long long>(done),
                 static_cast<long long>(total_), loss, eval.loss, eval.accuracy,
                 rate(done, train_seconds).c_str());
    std::fflush(stderr);
  }

  void finish() {
    if (terminal_) std::fprintf(stderr, "\n");
  }

 private:
  std::string rate(int64_t done, double train_seconds) const {
    const double per_second = (done - start_iteration_) / std::max(train_seconds, 1e-9);
    const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
    const double eta = elapsed / std::max<int64_t>(1, done - start_iteration_) * (total_ - done);
    char buffer[96];
    std::snprintf(buffer, sizeof(buffer), "%.1f it/s  ETA %s", per_second,
                  format_duration(eta).c_str());
    return buffer;
  }

  bool terminal_;
  std::string label_;
  int64_t total_, start_iteration_;
  Clock::time_point start_, last_;
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

RunLog::RunLog(const TrainOptions& options, std::optional<int64_t> resumed_at) {
  if (options.progress) {
    const auto label = options.label.empty() ? schedule_options(options).describe() : options.label;
    progress_ = std::make_unique<Progress>(label, options.iterations, resumed_at.value_or(0));
  }
  if (options.out_dir.empty()) return;
  const std::string train_csv = options.out_dir + "/train.csv";
  const std::string eval_csv = options.out_dir + "/eval.csv";
  fs::create_directories(options.out_dir);
  const int64_t from = resumed_at.value_or(0);
  const int64_t kept = rewrite_csv(train_csv, kTrainHeader, from);
  rewrite_csv(eval_csv, kEvalHeader, from + 1);
  // One row per invocation; a resume drops the rows of invocations whose work it redoes.
  rewrite_csv(options.out_dir + "/segments.csv", kSegmentsHeader, from, segment_row(options, from));
  if (resumed_at) {
    if (kept != from) {
      std::cerr << "warning: " << train_csv << " holds " << kept << " of the " << from
                << " rows before iteration " << from
                << "; the others were lost before this resume\n";
    }
    best_before_ = read_eval_csv(eval_csv).best_accuracy;
  }
  train_csv_.open(train_csv, std::ios::app);
  eval_csv_.open(eval_csv, std::ios::app);
  TORCH_CHECK(train_csv_ && eval_csv_, "train: cannot write to '", options.out_dir, "'");
}

RunLog::~RunLog() = default;

void RunLog::train_row(int64_t t, double lr, double momentum, double loss, double train_seconds) {
  if (train_csv_.is_open()) {
    char line[128];
    const int n = std::snprintf(line, sizeof(line), "%lld,%.9g,%.6g,%.6g\n",
                                static_cast<long long>(t), lr, momentum, loss);
    train_csv_.write(line, n);
  }
  loss_sum_ += loss;
  ++loss_count_;
  if (progress_) progress_->update(t + 1, loss, lr, train_seconds);
}

void RunLog::eval_row(int64_t done, const EvalResult& eval, double train_seconds) {
  if (progress_) {
    progress_->evaluation(done, loss_sum_ / std::max<int64_t>(1, loss_count_), eval, train_seconds);
  }
  loss_sum_ = 0.0;
  loss_count_ = 0;
  if (eval_csv_.is_open()) {
    eval_csv_ << done << "," << eval.loss << "," << eval.accuracy << "\n";
    eval_csv_.flush();
    train_csv_.flush();
  }
}

void RunLog::finish() {
  if (progress_) progress_->finish();
  train_csv_.flush();
  eval_csv_.flush();
}

void write_summary(const TrainOptions& options, const TrainResult& result, const RunFacts& facts) {
  const PolicyOptions policy = schedule_options(options);
  nlohmann::ordered_json summary;
  summary["policy"] = policy_name(policy.policy);
  summary["schedule"] = policy.describe();
  summary["optimizer"] = optimizer_name(options.optimizer);
  summary["iterations"] = result.iterations;
  summary["target_iterations"] = options.iterations;
  summary["batch_size"] = options.batch_size;
  summary["final_test_accuracy"] = optional_number(result.final_test_accuracy);
  summary["best_test_accuracy"] = optional_number(result.best_test_accuracy);
  summary["final_test_loss"] = optional_number(result.final_test_loss);
  summary["final_lr"] = result.final_lr;
  summary["images_per_second"] = result.images_per_second;
  summary["wall_seconds"] = result.wall_seconds;
  summary["cpu_seconds"] = facts.cpu_seconds;
  summary["resumed_from"] = facts.resumed_from;
  summary["threads"] = options.threads;
  summary["world_size"] = facts.world_size;
  summary["device"] = options.device.str();
  summary["seed"] = options.seed;
  summary["dataset"] = options.dataset;
  summary["train_images"] = facts.train_images;
  summary["test_images"] = facts.test_images;
  summary["diverged"] = result.diverged;
  if (result.diverged) summary["message"] = result.message;
  if (!facts.note.empty()) summary["note"] = facts.note;
  summary["command"] = options.command;
  summary["machine"] = machine_description();
  summary["torch_version"] = torch_version();
  summary["flush_denormal"] = options.flush_denormal;
  const auto numerics = numerics_facts();
  summary["fused_layer_isa"] = numerics.fused_layer_isa;
  summary["onednn_max_cpu_isa"] = numerics.onednn_max_cpu_isa;
  summary["aten_cpu_capability"] = numerics.aten_cpu_capability;
  replace_file(options.out_dir + "/summary.json", summary.dump(2) + "\n");
}

TrainResult finished_run(const TrainOptions& options, double final_lr, int64_t iteration,
                         double wall_seconds, double train_seconds, const RunFacts& facts) {
  TrainResult result;
  result.already_finished = true;
  result.iterations = iteration;
  result.final_lr = final_lr;
  result.wall_seconds = wall_seconds;
  if (train_seconds > 0) result.images_per_second = iteration * options.batch_size / train_seconds;
  if (options.progress) {
    std::cerr << "train: '" << options.resume << "' is already at iteration " << iteration << " of "
              << options.iterations << ": nothing to train\n";
  }
  if (options.out_dir.empty()) return result;
  const auto history = read_eval_csv(options.out_dir + "/eval.csv");
  result.best_test_accuracy = history.best_accuracy;
  if (history.last_iteration == iteration) {
    result.final_test_accuracy = history.last_accuracy;
    result.final_test_loss = history.last_loss;
  }
  const auto summary = read_summary(options.out_dir);
  if (!summary || summary->result.iterations != iteration ||
      summary->target_iterations != iteration) {
    RunFacts again = facts;
    again.note =
        "written again from the final checkpoint and eval.csv: the run that trained it stopped "
        "before its summary";
    write_summary(options, result, again);
  }
  return result;
}

std::optional<RunSummary> read_summary(const std::string& out_dir) {
  std::ifstream in(out_dir + "/summary.json");
  if (!in) return std::nullopt;
  const auto summary = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!summary.is_object() || !summary.contains("iterations")) return std::nullopt;
  RunSummary recorded;
  auto& result = recorded.result;
  result.iterations = summary.value("iterations", int64_t{0});
  result.final_test_accuracy = optional_number(summary, "final_test_accuracy");
  result.best_test_accuracy = optional_number(summary, "best_test_accuracy");
  result.final_test_loss = optional_number(summary, "final_test_loss");
  result.final_lr = optional_number(summary, "final_lr").value_or(0.0);
  result.images_per_second = optional_number(summary, "images_per_second").value_or(0.0);
  result.wall_seconds = optional_number(summary, "wall_seconds").value_or(0.0);
  result.diverged = summary.value("diverged", false);
  result.message = summary.value("message", std::string());
  recorded.target_iterations = summary.value("target_iterations", int64_t{-1});
  return recorded;
}

NumericsFacts numerics_facts() {
  NumericsFacts facts;
  facts.fused_layer_isa = fused_layer_isa_name(fused_layer_isa());
  facts.onednn_max_cpu_isa = environment("ONEDNN_MAX_CPU_ISA");
  if (facts.onednn_max_cpu_isa.empty()) facts.onednn_max_cpu_isa = environment("DNNL_MAX_CPU_ISA");
  facts.aten_cpu_capability = environment("ATEN_CPU_CAPABILITY");
  return facts;
}

int64_t rewrite_csv(const std::string& path, const std::string& header, int64_t limit,
                    const std::string& append) {
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
  replace_file(path, kept + append);
  return rows;
}

}  // namespace cifar10
