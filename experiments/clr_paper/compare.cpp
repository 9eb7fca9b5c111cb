#include "compare.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "report.h"
#include "resume.h"
#include "run_log.h"

namespace fs = std::filesystem;

namespace clr_paper {

using cifar10::optimizer_name;
using cifar10::TrainResult;

namespace {

std::string fixed(double value, int digits) {
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(digits);
  out << value;
  return out.str();
}

std::string duration(double seconds) {
  const auto s = static_cast<int64_t>(seconds);
  std::ostringstream out;
  if (s >= 3600) out << s / 3600 << " h ";
  out << (s / 60) % 60 << " min";
  if (s < 600) out << " " << s % 60 << " s";
  return out.str();
}

// A row is done when its run reached its length or diverged.
bool finished(const std::optional<cifar10::TrainResult>& result, int64_t iterations) {
  return result && (result->diverged || result->iterations >= iterations);
}

// The command that ran the rows: a --report-only rerun reports the command it stands for.
std::string run_command(std::string command) {
  const std::string flag = " --report-only";
  const auto at = command.find(flag);
  if (at != std::string::npos) command.erase(at, flag.size());
  return command;
}

// The result another invocation recorded in `dir/summary.json`, or nullopt.
std::optional<TrainResult> recorded_result(const std::string& dir) {
  const auto summary = cifar10::read_summary(dir);
  return summary ? std::optional<TrainResult>(summary->result) : std::nullopt;
}

}  // namespace

std::string write_report(const CompareOptions& options, const std::vector<CompareRow>& rows,
                         const RowResults& results, const std::string& dataset) {
  const bool paper = options.preset == "paper";
  std::ostringstream md;
  md << "| run | optimizer | schedule | iterations | paper (%) | final test accuracy (%) | best "
        "(%) | final LR | images/s | wall time |\n"
     << "|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& r : rows) {
    const auto dir = options.out_dir + "/" + r.id;
    const auto paper_cell = r.paper_accuracy
                                ? fixed(*r.paper_accuracy, 1) + " (" + r.paper_source + ")"
                                : std::string("-");
    md << "| " << r.label << " | " << optimizer_name(r.options.optimizer) << " | "
       << cifar10::schedule_options(r.options).describe() << " | ";
    const auto known = results.find(r.id);
    const auto result =
        known != results.end() ? std::optional<TrainResult>(known->second) : recorded_result(dir);
    if (!result) {
      const auto progress = cifar10::read_eval_csv(dir + "/eval.csv");
      if (!progress.last_iteration) {
        md << r.options.iterations << " | " << paper_cell << " | not run | | | | |\n";
      } else {
        md << *progress.last_iteration << " of " << r.options.iterations << " | " << paper_cell
           << " | running: " << fixed(*progress.last_accuracy, 2) << " | "
           << fixed(*progress.best_accuracy, 2) << " | | | |\n";
      }
      continue;
    }
    md << result->iterations;
    if (result->iterations < r.options.iterations) md << " of " << r.options.iterations;
    md << " | " << paper_cell << " | ";
    if (result->diverged) {
      md << "diverged";
    } else if (result->final_test_accuracy) {
      md << fixed(*result->final_test_accuracy, 2);
    }
    md << " | ";
    if (result->best_test_accuracy) md << fixed(*result->best_test_accuracy, 2);
    md << " | " << result->final_lr << " | " << fixed(result->images_per_second, 0) << " | "
       << duration(result->wall_seconds) << " |\n";
  }

  std::ostringstream doc;
  doc << "# CIFAR-10: " << (paper ? "the CLR paper's rows" : "demo") << "\n\n";
  if (paper) {
    doc << "Scale " << options.scale
        << ": every iteration count and step size of the paper multiplied by " << options.scale
        << (options.scale < 1 ? " (exponential gammas raised to 1/scale, so each LR curve keeps "
                                "its shape). The paper's figures are for its full-length runs."
                              : ".")
        << "\n\n";
  } else {
    doc << "A short run of each policy; far too short to compare with the paper's figures.\n\n";
  }
  doc << table_note(dataset, options.seed) << "\n\n"
      << md.str() << "\n"
      << "![test accuracy](accuracy.png)\n\n![learning rate](lr.png)\n\n"
      << "- Command: `" << run_command(options.command) << "`\n"
      << "- Machine: " << cifar10::machine_description() << ", " << options.threads << " threads, "
      << options.device.str() << ", LibTorch " << cifar10::torch_version() << "\n"
      << "- Each run's exact `cifar10 train` command is in its `summary.json`.\n";
  cifar10::replace_file(options.out_dir + "/results.md", doc.str());
  return md.str();
}

std::string table_note(const std::string& dataset, uint64_t seed) {
  return "Data: " + dataset +
         ". Accuracy: the whole 10,000-image test set after the last iteration (final) and the "
         "best of the evaluations along the way (best). Single runs, seed " +
         std::to_string(seed) + ".";
}

bool write_plots(const std::string& out_dir, const std::vector<CompareRow>& rows) {
  std::vector<const CompareRow*> present;
  for (const auto& r : rows) {
    if (fs::is_regular_file(out_dir + "/" + r.id + "/eval.csv")) present.push_back(&r);
  }
  if (present.empty()) return false;
  const auto script_path = out_dir + "/plots.gp";
  const std::vector<std::string> images = {out_dir + "/accuracy.png", out_dir + "/lr.png"};
  std::ostringstream gp;
  gp << "set datafile separator ','\n"
     << "set terminal pngcairo size 1000,600 noenhanced\n"
     << "set key below\nset grid\nset xlabel 'iteration'\n"
     << "set output '" << cifar10::gnuplot_output(images[0]) << "'\n"
     << "set ylabel 'test accuracy (%)'\nset title 'CIFAR-10 test accuracy'\n"
     << "plot ";
  for (size_t i = 0; i < present.size(); ++i) {
    gp << (i ? ", \\\n     " : "") << "'" << out_dir << "/" << present[i]->id
       << "/eval.csv' every ::1 using 1:3 with linespoints pt 7 ps 0.5 title '" << present[i]->label
       << "'";
  }
  gp << "\nset output '" << cifar10::gnuplot_output(images[1]) << "'\n"
     << "set logscale y\nset ylabel 'learning rate'\nset title 'Learning rate (multiplier-1 "
        "group)'\nplot ";
  for (size_t i = 0; i < present.size(); ++i) {
    const auto& r = *present[i];
    const int64_t every = std::max<int64_t>(1, r.options.iterations / 2000);
    gp << (i ? ", \\\n     " : "") << "'" << out_dir << "/" << r.id << "/train.csv' every " << every
       << "::1 using 1:2 with lines title '" << r.label << "'";
  }
  gp << "\n";
  cifar10::replace_file(script_path, gp.str());
  return cifar10::run_gnuplot(script_path, images);
}

std::string run_compare(const CompareOptions& options, const cifar10::DataPair& data) {
  const auto all =
      options.preset == "demo" ? demo_rows(options.demo_iterations) : paper_rows(options.scale);
  auto rows = select_rows(all, options.rows);
  // The table lists the selected rows and any other row already in `out_dir` (another
  // invocation's, perhaps running beside this one), in the preset's order.
  std::vector<CompareRow> reported;
  for (const auto& r : all) {
    const bool selected =
        std::any_of(rows.begin(), rows.end(), [&](const CompareRow& s) { return s.id == r.id; });
    if (selected || fs::is_directory(options.out_dir + "/" + r.id)) reported.push_back(r);
  }
  fs::create_directories(options.out_dir);
  const int64_t default_eval = options.preset == "demo"
                                   ? std::max<int64_t>(1, options.demo_iterations / 8)
                                   : std::max<int64_t>(500, scaled(1000, options.scale));

  RowResults results;
  for (auto& r : rows) {
    if (options.report_only) break;
    const auto dir = options.out_dir + "/" + r.id;
    auto& o = r.options;
    o.eval_every = options.eval_every > 0 ? options.eval_every : default_eval;
    o.seed = options.seed;
    o.threads = options.threads;
    o.flush_denormal = options.flush_denormal;
    o.device = options.device;
    o.progress = options.progress;
    o.dataset = data.description;
    o.out_dir = dir;
    o.checkpoint = dir + "/checkpoint.pt";
    o.label = r.id;
    if (finished(recorded_result(dir), o.iterations)) {
      std::cerr << r.id << ": already done in " << dir << "\n";
      fs::remove(o.checkpoint);  // left by a kill between the summary and its removal
      continue;
    }
    if (fs::is_regular_file(o.checkpoint)) o.resume = o.checkpoint;
    o.command = options.train_prefix + " " + cifar10::train_arguments(o) + " --out " + dir;
    std::cerr << r.id << ": " << cifar10::schedule_options(o).describe() << ", "
              << optimizer_name(o.optimizer) << ", " << o.iterations << " iterations"
              << (o.resume.empty() ? "" : " (resuming)") << "\n";
    const auto result = cifar10::train(o, data.train, data.test);
    if (result.diverged) std::cerr << r.id << ": " << result.message << "\n";
    fs::remove(o.checkpoint);
    results[r.id] = result;
    write_report(options, reported, results, data.description);
    write_plots(options.out_dir, reported);
  }
  const auto table = write_report(options, reported, results, data.description);
  write_plots(options.out_dir, reported);
  return table;
}

}  // namespace clr_paper
