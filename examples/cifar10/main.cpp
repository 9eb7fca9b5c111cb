// cifar10: trains the CLR paper's CIFAR-10 network with torchclr's schedules.
//
//   cifar10 train --policy triangular2 --iters 25000 --out results/triangular2
//   cifar10 range-test --out results/range-test
//   cifar10 compare --scale 0.2 --out results/compare
//   cifar10 compare --preset demo

#include <malloc.h>
#include <torch/torch.h>
#include <torchclr/distributed.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <cmath>
#include <iostream>
#include <limits>
#include <memory>
#include <sstream>
#include <thread>

#include "compare.h"
#include "dataset.h"
#include "range_test.h"
#include "report.h"
#include "train.h"

namespace {

// CLI11's own checks print their bounds with std::to_string (a 309-digit DBL_MAX), and its
// integer conversion clamps values past 64 bits and reads "010" as octal. These checks run on
// the text first and say what was expected and what was given; CLI11 prefixes the flag.
template <typename Int>
CLI::Validator integer_in(Int min, Int max) {
  const std::string expected =
      "an integer between " + std::to_string(min) + " and " + std::to_string(max);
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        Int value{};
        const char* end = text.data() + text.size();
        const auto [stop, error] = std::from_chars(text.data(), end, value);
        const bool leading_zero = text.size() > 1 && text[0] == '0';
        if (error == std::errc() && stop == end && !leading_zero && value >= min && value <= max) {
          return "";
        }
        return "expected " + expected + ", but got '" + text + "'";
      },
      expected);
}

CLI::Validator integer_at_least(int64_t min) {
  return integer_in<int64_t>(min, std::numeric_limits<int64_t>::max());
}

// A finite number above `min` (or at least `min` when `inclusive`) and at most `max`.
CLI::Validator number_in(double min, bool inclusive, double max, const std::string& expected) {
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        double value = 0;
        const char* end = text.data() + text.size();
        const auto [stop, error] = std::from_chars(text.data(), end, value);
        if (error == std::errc() && stop == end && std::isfinite(value) &&
            (inclusive ? value >= min : value > min) && value <= max) {
          return "";
        }
        return "expected " + expected + ", but got '" + text + "'";
      },
      expected);
}

CLI::Validator positive_number() {
  return number_in(0.0, false, std::numeric_limits<double>::max(), "a positive finite number");
}

struct Common {
  std::string dataset = "auto";
  std::string data_dir;
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::string device = "cpu";
  uint64_t seed = 1;
};

void add_common(CLI::App& app, Common& common) {
  app.add_option("--dataset", common.dataset,
                 "cifar10, fashion-mnist, or auto: CIFAR-10 when found, else Fashion-MNIST")
      ->check(CLI::IsMember({"auto", "cifar10", "fashion-mnist"}))
      ->capture_default_str();
  app.add_option("--data-dir", common.data_dir,
                 "CIFAR-10's cifar-10-batches-bin (or its parent); default $CIFAR10_DIR or "
                 "data/cifar10. Fashion-MNIST: default /usr/share/datasets/fashion-mnist");
  app.add_option("--threads", common.threads, "intra-op threads (default: all cores)")
      ->check(integer_in<int>(1, 4096))
      ->capture_default_str();
  app.add_option("--device", common.device, "cpu or cuda")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
  app.add_option("--seed", common.seed, "initialisation and data-order seed")
      ->check(integer_in<uint64_t>(0, std::numeric_limits<uint64_t>::max()))
      ->capture_default_str();
}

cifar10::DatasetKind resolve_dataset(const Common& common) {
  if (common.dataset == "cifar10") return cifar10::DatasetKind::Cifar10;
  if (common.dataset == "fashion-mnist") return cifar10::DatasetKind::FashionMnist;
  if (!common.data_dir.empty() || !cifar10::find_cifar10_dir().empty()) {
    return cifar10::DatasetKind::Cifar10;
  }
  std::cerr << "CIFAR-10 not found ($CIFAR10_DIR, data/cifar10): using Fashion-MNIST. Run "
               "scripts/get_cifar10.sh to get CIFAR-10.\n";
  return cifar10::DatasetKind::FashionMnist;
}

// LibTorch's CPU allocator frees every activation at the end of an iteration. By default glibc
// returns the top of the heap to the system and the next iteration faults the same pages in
// again, zero-filled; keeping them (up to glibc's 32 MiB mmap limit per block) removes that cost.
void keep_freed_memory() {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 64 << 20);
}

torch::Device setup(const Common& common) {
  keep_freed_memory();
  torch::set_num_threads(common.threads);
  if (common.device == "cuda") {
    if (!torch::cuda::is_available()) {
      throw std::runtime_error(
          "--device cuda: no CUDA device is available to this LibTorch (a CPU-only build, or no "
          "GPU visible); use --device cpu");
    }
    return torch::kCUDA;
  }
  return torch::kCPU;
}

// Loads the data and says how many images there are, warning where the files differ from the
// official release (a file cut short trains on fewer images).
cifar10::DataPair load(const Common& common, cifar10::DatasetKind kind) {
  std::cerr << "loading " << (kind == cifar10::DatasetKind::Cifar10 ? "CIFAR-10" : "Fashion-MNIST")
            << "...\n";
  auto data = cifar10::load_data(kind, common.data_dir);
  std::cerr << cifar10::describe_counts(data) << "\n";
  for (const auto& warning : data.warnings) std::cerr << "warning: " << warning << "\n";
  return data;
}

// "argv0 train --dataset ... --threads N": the start of a command that reproduces a run.
std::string train_prefix(const char* argv0, const Common& common, cifar10::DatasetKind kind) {
  std::ostringstream out;
  out << argv0 << " train --dataset "
      << (kind == cifar10::DatasetKind::Cifar10 ? "cifar10" : "fashion-mnist");
  if (!common.data_dir.empty()) out << " --data-dir " << common.data_dir;
  out << " --threads " << common.threads << " --device " << common.device;
  return out.str();
}

// Data-parallel options, shared by train and range-test.
struct Distributed {
  int64_t world_size = 1;
  int64_t rank = 0;
  std::string master_addr = "127.0.0.1";
  int64_t master_port = 29500;
  std::string init_file;
  double timeout = 300.0;
};

void add_distributed(CLI::App& app, Distributed& d) {
  app.add_option("--world-size", d.world_size,
                 "data-parallel ranks (c10d: Gloo on CPU, NCCL on CUDA)")
      ->check(integer_at_least(1))
      ->capture_default_str();
  app.add_option("--rank", d.rank, "this process's rank, 0 to world size - 1")
      ->check(integer_at_least(0))
      ->capture_default_str();
  app.add_option("--master-addr", d.master_addr, "rank 0's TCPStore address")
      ->capture_default_str();
  app.add_option("--master-port", d.master_port, "rank 0's TCPStore port")
      ->check(integer_in<int64_t>(1, 65535))
      ->capture_default_str();
  app.add_option("--init-file", d.init_file,
                 "rendezvous through this shared file (FileStore) instead of TCP");
  app.add_option("--dist-timeout", d.timeout,
                 "seconds to wait for the other ranks (rendezvous and every collective) before "
                 "failing")
      ->check(positive_number())
      ->capture_default_str();
}

// The process group of a data-parallel run; null for one process. With CUDA, `device` becomes
// this rank's GPU.
std::shared_ptr<torchclr::ProcessGroup> make_group(const Distributed& d, torch::Device& device) {
  if (d.world_size == 1 && d.rank == 0) return nullptr;
  auto group = torchclr::ProcessGroup::create(torchclr::RendezvousOptions(d.world_size, d.rank)
                                                  .master_addr(d.master_addr)
                                                  .master_port(d.master_port)
                                                  .init_file(d.init_file)
                                                  .timeout_seconds(d.timeout)
                                                  .backend(device.is_cuda() ? "nccl" : "gloo"));
  if (device.is_cuda()) device = group->device();
  return group;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Train the CLR paper's CIFAR-10 network with torchclr's learning-rate schedules"};
  app.require_subcommand(1);

  // train
  Common train_common;
  cifar10::TrainOptions train_options;
  std::string policy = "fixed", optimizer = "sgd", milestones, stages;
  double gamma = 0.0;  // only when given
  std::string out_dir = "results/train";
  auto* train_cmd = app.add_subcommand("train", "train with one LR policy");
  add_common(*train_cmd, train_common);
  train_cmd->add_option("--policy", policy, "LR policy")
      ->check(CLI::IsMember(cifar10::policy_names()))
      ->capture_default_str();
  train_cmd->add_option("--optimizer", optimizer, "optimizer")
      ->check(CLI::IsMember(cifar10::optimizer_names()))
      ->capture_default_str();
  train_cmd->add_option("--iters", train_options.iterations, "training iterations")
      ->check(integer_at_least(1))
      ->capture_default_str();
  train_cmd->add_option("--batch-size", train_options.batch_size, "images per iteration")
      ->check(integer_at_least(1))
      ->capture_default_str();
  train_cmd
      ->add_option("--base-lr", train_options.policy.base_lr,
                   "fixed/multistep/exp LR; lower bound of cyclical policies; decay's end")
      ->check(positive_number())
      ->capture_default_str();
  train_cmd
      ->add_option("--max-lr", train_options.policy.max_lr,
                   "upper bound of cyclical policies and onecycle; decay's start")
      ->check(positive_number())
      ->capture_default_str();
  train_cmd
      ->add_option("--step-size", train_options.policy.step_size,
                   "iterations of half a cycle; decay's length")
      ->check(integer_at_least(1))
      ->capture_default_str();
  auto* gamma_option =
      train_cmd
          ->add_option("--gamma", gamma,
                       "exp and exp_range: LR factor per iteration (default 0.99994); "
                       "multistep: factor at each milestone (default 0.1)")
          ->check(positive_number());
  train_cmd->add_option("--milestones", milestones,
                        "multistep: comma-separated iterations (default 6/7 and 13/14 of --iters)");
  train_cmd->add_option("--stages", stages,
                        "cyclical policies in stages: BASE:MAX:STEP:UNTIL,... (e.g. the paper's "
                        "0.001:0.005:2000:16000,0.0001:0.0005:1000:22000,"
                        "0.00001:0.00005:500:25000)");
  train_cmd
      ->add_option("--eval-every", train_options.eval_every,
                   "test every N iterations and at the end (0: never)")
      ->check(integer_at_least(0))
      ->capture_default_str();
  train_cmd->add_option("--checkpoint", train_options.checkpoint,
                        "write model, optimizer and scheduler here at every test and at the end");
  train_cmd->add_option("--resume", train_options.resume,
                        "continue from this checkpoint (the same LR sequence and data order)");
  train_cmd->add_option("--out", out_dir, "train.csv, eval.csv and summary.json go here")
      ->capture_default_str();
  Distributed train_distributed;
  add_distributed(*train_cmd, train_distributed);

  // range-test
  Common range_common;
  cifar10::RangeTestCliOptions range_options;
  auto* range_cmd = app.add_subcommand(
      "range-test", "Smith's LR range test: the LR rises linearly, accuracy and loss are recorded");
  add_common(*range_cmd, range_common);
  range_cmd->add_option("--start-lr", range_options.start_lr)
      ->check(positive_number())
      ->capture_default_str();
  range_cmd->add_option("--end-lr", range_options.end_lr)
      ->check(positive_number())
      ->capture_default_str();
  range_cmd->add_option("--epochs", range_options.epochs, "length of the sweep in epochs")
      ->check(positive_number())
      ->capture_default_str();
  range_cmd->add_option("--optimizer", range_options.optimizer)
      ->check(CLI::IsMember(cifar10::optimizer_names()))
      ->capture_default_str();
  range_cmd->add_option("--batch-size", range_options.batch_size)
      ->check(integer_at_least(1))
      ->capture_default_str();
  range_cmd
      ->add_option("--eval-every", range_options.eval_every,
                   "measure test accuracy every N iterations")
      ->check(integer_at_least(1))
      ->capture_default_str();
  range_cmd
      ->add_option("--eval-images", range_options.eval_images,
                   "test images per accuracy measurement")
      ->check(integer_at_least(1))
      ->capture_default_str();
  range_cmd->add_option("--out", range_options.out_dir)->capture_default_str();
  Distributed range_distributed;
  add_distributed(*range_cmd, range_distributed);

  // compare
  Common compare_common;
  cifar10::CompareOptions compare_options;
  std::string rows;
  auto* compare_cmd = app.add_subcommand(
      "compare", "run the paper's CIFAR-10 rows (or a short demo) and write a table and plots");
  add_common(*compare_cmd, compare_common);
  compare_cmd
      ->add_option("--preset", compare_options.preset,
                   "paper: Tables 1-3 rows; demo: a few-minute triangular2 / step decay / "
                   "Adam comparison")
      ->check(CLI::IsMember({"paper", "demo"}))
      ->capture_default_str();
  compare_cmd
      ->add_option("--scale", compare_options.scale,
                   "multiply every iteration count and step size (0.2: five times shorter)")
      ->check(number_in(0.0, false, 1.0, "a number in (0, 1]"))
      ->capture_default_str();
  compare_cmd
      ->add_option("--demo-iters", compare_options.demo_iterations, "iterations of each demo run")
      ->check(integer_at_least(4))
      ->capture_default_str();
  compare_cmd->add_option("--rows", rows, "comma-separated row ids to run (default: all)");
  compare_cmd
      ->add_option("--eval-every", compare_options.eval_every,
                   "test every N iterations (default: 1000 x scale, at least 500)")
      ->check(integer_at_least(0));
  compare_cmd->add_flag("--report-only", compare_options.report_only,
                        "only rewrite results.md and the plots from the runs already in --out");
  compare_cmd
      ->add_option("--out", compare_options.out_dir,
                   "one directory per row, results.md, "
                   "accuracy.png, lr.png")
      ->capture_default_str();

  CLI11_PARSE(app, argc, argv);

  try {
    if (*train_cmd) {
      auto device = setup(train_common);
      const auto kind = resolve_dataset(train_common);
      auto& p = train_options.policy;
      p.policy = cifar10::parse_policy(policy);
      p.iterations = train_options.iterations;
      if (gamma_option->count() > 0) p.gamma = gamma;
      if (!milestones.empty()) p.milestones = cifar10::parse_milestones(milestones);
      if (!stages.empty()) p.stages = cifar10::parse_stages(stages);
      train_options.optimizer = cifar10::parse_optimizer(optimizer);
      cifar10::check_train_options(train_options);  // before the data is loaded
      train_options.seed = train_common.seed;
      train_options.threads = train_common.threads;
      train_options.group = make_group(train_distributed, device);
      train_options.device = device;
      train_options.out_dir = out_dir;
      train_options.command = cifar10::command_line(argc, argv);
      const auto data = load(train_common, kind);
      train_options.dataset = data.description;
      const auto result = cifar10::train(train_options, data.train, data.test);
      if (result.diverged) {
        std::cerr << "error: " << result.message << "\n(CSVs up to that iteration are in "
                  << out_dir << ")\n";
        return 3;
      }
      std::cout << "policy " << policy << ", " << result.iterations << " iterations"
                << (result.already_finished ? " (already finished)" : "") << ": ";
      if (result.final_test_accuracy) {
        std::cout << "test accuracy " << *result.final_test_accuracy << "% (best "
                  << *result.best_test_accuracy << "%), ";
      }
      std::cout << result.images_per_second << " images/s, " << result.wall_seconds
                << " s; results in " << out_dir << "\n";
    } else if (*range_cmd) {
      auto device = setup(range_common);
      const auto kind = resolve_dataset(range_common);
      range_options.seed = range_common.seed;
      range_options.group = make_group(range_distributed, device);
      range_options.device = device;
      range_options.threads = range_common.threads;
      range_options.command = cifar10::command_line(argc, argv);
      const auto data = load(range_common, kind);
      std::cout << cifar10::run_range_test(range_options, data);
    } else if (*compare_cmd) {
      const auto device = setup(compare_common);
      const auto kind = resolve_dataset(compare_common);
      compare_options.seed = compare_common.seed;
      compare_options.threads = compare_common.threads;
      compare_options.device = device;
      compare_options.command = cifar10::command_line(argc, argv);
      std::stringstream row_list(rows);
      for (std::string id; std::getline(row_list, id, ',');) compare_options.rows.push_back(id);
      const auto data = load(compare_common, kind);
      compare_options.train_prefix = train_prefix(argv[0], compare_common, kind);
      std::cout << cifar10::run_compare(compare_options, data)
                << "\nResults: " << compare_options.out_dir
                << "/results.md, accuracy.png, lr.png\n";
    }
  } catch (const c10::Error& e) {
    std::cerr << "error: " << e.what_without_backtrace() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
