// cifar10: trains the CLR paper's CIFAR-10 network with torchclr's schedules.
//
//   cifar10 train --policy triangular2 --iters 25000 --out results/triangular2
//   cifar10 range-test --out results/range-test
//
// The paper's comparisons (its tables' rows, reports and plots) are experiments/clr_paper.

#include <torch/torch.h>
#include <torchclr/distributed.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

#include "cli.h"
#include "dataset.h"
#include "range_test.h"
#include "report.h"
#include "train.h"

namespace {

using cifar10::integer_at_least;
using cifar10::integer_in;
using cifar10::positive_number;

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
  cifar10::Common train_common;
  cifar10::TrainOptions train_options;
  std::string policy = "fixed", optimizer = "sgd", milestones, stages;
  double gamma = 0.0;  // only when given
  std::string out_dir = "results/train";
  auto* train_cmd = app.add_subcommand("train", "train with one LR policy");
  cifar10::add_common(*train_cmd, train_common);
  train_cmd->add_option("--policy", policy, "LR policy:\n" + cifar10::policy_help())
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
  cifar10::Common range_common;
  cifar10::RangeTestCliOptions range_options;
  auto* range_cmd = app.add_subcommand(
      "range-test", "Smith's LR range test: the LR rises linearly, accuracy and loss are recorded");
  cifar10::add_common(*range_cmd, range_common);
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

  CLI11_PARSE(app, argc, argv);

  return cifar10::exit_status([&] {
    if (*train_cmd) {
      auto device = cifar10::setup(train_common);
      const auto kind = cifar10::resolve_dataset(train_common);
      auto& p = train_options.policy;
      p.policy = cifar10::parse_policy(policy);
      if (gamma_option->count() > 0) p.gamma = gamma;
      if (!milestones.empty()) p.milestones = cifar10::parse_milestones(milestones);
      if (!stages.empty()) p.stages = cifar10::parse_stages(stages);
      train_options.optimizer = cifar10::parse_optimizer(optimizer);
      cifar10::check_train_options(train_options);  // before the data is loaded
      train_options.seed = train_common.seed;
      train_options.threads = train_common.threads;
      train_options.flush_denormal = train_common.flush_denormal;
      train_options.group = make_group(train_distributed, device);
      train_options.device = device;
      train_options.out_dir = out_dir;
      train_options.command = cifar10::command_line(argc, argv);
      const auto data = cifar10::load(train_common, kind);
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
      auto device = cifar10::setup(range_common);
      const auto kind = cifar10::resolve_dataset(range_common);
      range_options.seed = range_common.seed;
      range_options.group = make_group(range_distributed, device);
      range_options.device = device;
      range_options.threads = range_common.threads;
      range_options.flush_denormal = range_common.flush_denormal;
      range_options.command = cifar10::command_line(argc, argv);
      const auto data = cifar10::load(range_common, kind);
      std::cout << cifar10::run_range_test(range_options, data);
    }
    return 0;
  });
}
