// clr_paper: the CLR paper's CIFAR-10 experiments (arXiv 1506.01186, Tables 1-3) on the
// cifar10 example's network, data and training loop.
//
//   clr_paper compare --scale 0.2 --out results/compare          every row, five times shorter
//   clr_paper compare --rows triangular2,fixed --out results/full  two rows at full length
//   clr_paper compare --preset demo                                 a few minutes
//
// Each row is one `cifar10 train` run in its own directory (its summary.json holds the command
// that reproduces it); rows already finished are skipped and interrupted ones resume.

#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <sstream>

#include "cli.h"
#include "compare.h"
#include "report.h"

namespace {

// "cifar10 train --dataset ... --threads N --device D": the start of a row's reproducing command.
std::string train_prefix(const cifar10::Common& common, cifar10::DatasetKind kind) {
  std::ostringstream out;
  out << "cifar10 train --dataset "
      << (kind == cifar10::DatasetKind::Cifar10 ? "cifar10" : "fashion-mnist");
  if (!common.data_dir.empty()) out << " --data-dir " << common.data_dir;
  out << " --threads " << common.threads << " --device " << common.device;
  if (common.flush_denormal) out << " --flush-denormal";
  return out.str();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"The CLR paper's CIFAR-10 experiments, run with torchclr's schedules"};
  app.require_subcommand(1);

  cifar10::Common common;
  clr_paper::CompareOptions options;
  std::string rows;
  auto* compare = app.add_subcommand(
      "compare", "run the paper's CIFAR-10 rows (or a short demo) and write a table and plots");
  cifar10::add_common(*compare, common);
  compare
      ->add_option("--preset", options.preset,
                   "paper: Tables 1-3 rows; demo: a few-minute triangular2 / step decay / "
                   "Adam comparison")
      ->check(CLI::IsMember({"paper", "demo"}))
      ->capture_default_str();
  compare
      ->add_option("--scale", options.scale,
                   "multiply every iteration count and step size (0.2: five times shorter)")
      ->check(cifar10::number_in(0.0, false, 1.0, "a number in (0, 1]"))
      ->capture_default_str();
  compare->add_option("--demo-iters", options.demo_iterations, "iterations of each demo run")
      ->check(cifar10::integer_at_least(4))
      ->capture_default_str();
  compare->add_option("--rows", rows, "comma-separated row ids to run (default: all)");
  compare
      ->add_option("--eval-every", options.eval_every,
                   "test every N iterations (default: 1000 x scale, at least 500)")
      ->check(cifar10::integer_at_least(0));
  compare->add_flag("--report-only", options.report_only,
                    "only rewrite results.md and the plots from the runs already in --out");
  compare
      ->add_option("--out", options.out_dir,
                   "one directory per row, results.md, accuracy.png, lr.png")
      ->capture_default_str();

  CLI11_PARSE(app, argc, argv);

  return cifar10::exit_status([&] {
    options.device = cifar10::setup(common);
    const auto kind = cifar10::resolve_dataset(common);
    options.seed = common.seed;
    options.threads = common.threads;
    options.flush_denormal = common.flush_denormal;
    options.command = cifar10::command_line(argc, argv);
    std::stringstream row_list(rows);
    for (std::string id; std::getline(row_list, id, ',');) options.rows.push_back(id);
    const auto data = cifar10::load(common, kind);
    options.train_prefix = train_prefix(common, kind);
    std::cout << clr_paper::run_compare(options, data) << "\nResults: " << options.out_dir
              << "/results.md, accuracy.png, lr.png\n";
    return 0;
  });
}
