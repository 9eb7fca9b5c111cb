#include "compare.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "report.h"

namespace fs = std::filesystem;

namespace cifar10 {
namespace {

int64_t scaled(int64_t iterations, double scale) {
  return std::max<int64_t>(1, std::llround(iterations * scale));
}

CompareRow row(std::string id, std::string label, OptimizerKind optimizer, Policy policy,
               int64_t iterations, std::optional<double> paper, std::string source) {
  CompareRow r;
  r.id = std::move(id);
  r.label = std::move(label);
  r.options.optimizer = optimizer;
  r.options.policy.policy = policy;
  r.options.iterations = iterations;
  r.options.policy.iterations = iterations;
  r.paper_accuracy = paper;
  r.paper_source = std::move(source);
  return r;
}

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

struct Evaluations {
  int64_t iteration = 0;
  double accuracy = 0.0;
  double best = 0.0;
};

// The last and best rows of an eval.csv, for a row still running.
Evaluations last_evaluation(const std::string& path) {
  Evaluations e;
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    const auto first = line.find(','), last = line.rfind(',');
    if (first == std::string::npos) continue;
    e.iteration = std::stoll(line.substr(0, first));
    e.accuracy = std::stod(line.substr(last + 1));
    e.best = std::max(e.best, e.accuracy);
  }
  return e;
}

std::string number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

// One optimizer of the paper's Table 3 (arXiv 1506.01186v6, page 5): its LR bounds and the
// accuracies the paper reports for it.
struct Table3Optimizer {
  const char* id;
  const char* name;
  OptimizerKind kind;
  double low;
  double high;
  double fixed_70k;
  double triangular_25k;
  std::optional<double> triangular_70k;
};

const Table3Optimizer kTable3[] = {
    {"nesterov", "Nesterov", OptimizerKind::Nesterov, 0.001, 0.006, 82.1, 81.3, std::nullopt},
    {"adam", "Adam", OptimizerKind::Adam, 0.0005, 0.002, 81.4, 79.8, 81.1},
    {"rmsprop", "RMSprop", OptimizerKind::RmsProp, 0.0001, 0.0003, 75.2, 72.8, 75.1},
    {"adagrad", "AdaGrad", OptimizerKind::Adagrad, 0.003, 0.035, 74.6, 76.0, std::nullopt},
    {"adadelta", "AdaDelta", OptimizerKind::Adadelta, 0.01, 0.1, 67.3, 67.3, std::nullopt},
};

bool finished(const std::string& dir, int64_t iterations) {
  const auto path = dir + "/summary.json";
  if (!fs::is_regular_file(path)) return false;
  const auto text = read_text(path);
  return json_true(text, "diverged") ||
         json_number(text, "iterations").value_or(-1) >= static_cast<double>(iterations);
}

// The command that ran the rows: a --report-only rerun reports the command it stands for.
std::string run_command(std::string command) {
  const std::string flag = " --report-only";
  const auto at = command.find(flag);
  if (at != std::string::npos) command.erase(at, flag.size());
  return command;
}

}  // namespace

std::vector<CompareRow> paper_rows(double scale) {
  TORCH_CHECK(scale > 0 && scale <= 1, "compare: expected 0 < scale <= 1, but got ", scale);
  const auto n = [scale](int64_t iterations) { return scaled(iterations, scale); };
  const double gamma = std::pow(0.99994, 1.0 / scale);
  std::vector<CompareRow> rows;

  auto r = row("triangular2", "triangular2, 0.001-0.006", OptimizerKind::Sgd, Policy::Triangular2,
               n(25000), 81.4, "Table 1");
  r.options.policy.base_lr = 0.001;
  r.options.policy.max_lr = 0.006;
  r.options.policy.step_size = n(2000);
  rows.push_back(r);

  r = row("fixed", "fixed (Caffe: 0.001, x0.1 at 60k and 65k)", OptimizerKind::Sgd,
          Policy::MultiStep, n(70000), 81.4, "Table 1");
  r.options.policy.base_lr = 0.001;
  r.options.policy.milestones = {n(60000), n(65000)};
  r.options.policy.gamma = 0.1;
  rows.push_back(r);

  r = row("triangular2-stages", "triangular2 in three stages (Table 2)", OptimizerKind::Sgd,
          Policy::Triangular2, n(25000), 81.4, "Tables 1-2");
  r.options.policy.stages = {{0.001, 0.005, n(2000), n(16000)},
                             {0.0001, 0.0005, n(1000), n(22000)},
                             {0.00001, 0.00005, n(500), n(25000)}};
  r.options.policy.base_lr = 0.001;
  rows.push_back(r);

  r = row("decay", "decay, 0.007 to 0.001 over 4000", OptimizerKind::Sgd, Policy::Decay, n(25000),
          78.5, "Table 1");
  r.options.policy.base_lr = 0.001;
  r.options.policy.max_lr = 0.007;
  r.options.policy.step_size = n(4000);
  rows.push_back(r);

  r = row("exp_range", "exp_range, 0.001-0.006, gamma 0.99994", OptimizerKind::Sgd,
          Policy::ExpRange, n(42000), 82.2, "Table 1");
  r.options.policy.base_lr = 0.001;
  r.options.policy.max_lr = 0.006;
  r.options.policy.step_size = n(2000);
  r.options.policy.gamma = gamma;
  rows.push_back(r);

  r = row("exp", "exp, 0.001, gamma 0.99994", OptimizerKind::Sgd, Policy::Exp, n(70000), 79.1,
          "Table 1");
  r.options.policy.base_lr = 0.001;
  r.options.policy.gamma = gamma;
  rows.push_back(r);

  // Table 3 (section 4.1.1): each optimizer with the bounds of its own LR range test. Fixed
  // starts at the lower bound ("Just the lower bound was used for base lr for the fixed
  // policy"); its drops at 60k and 65k are our reading of "fixed" as Caffe's cifar10_full
  // schedule, as for the SGD fixed row. Triangular cycles between the bounds with the section's
  // stepsize, 2000 (Table 3 gives none).
  for (const auto& t : kTable3) {
    const std::string bounds = number(t.low) + "-" + number(t.high);
    r = row(std::string(t.id) + "-fixed",
            std::string(t.name) + ", fixed (" + number(t.low) + ", x0.1 at 60k and 65k)", t.kind,
            Policy::MultiStep, n(70000), t.fixed_70k, "Table 3");
    r.options.policy.base_lr = t.low;
    r.options.policy.milestones = {n(60000), n(65000)};
    r.options.policy.gamma = 0.1;
    rows.push_back(r);

    r = row(std::string(t.id) + "-triangular", std::string(t.name) + ", triangular " + bounds,
            t.kind, Policy::Triangular, n(25000), t.triangular_25k, "Table 3");
    r.options.policy.base_lr = t.low;
    r.options.policy.max_lr = t.high;
    r.options.policy.step_size = n(2000);
    rows.push_back(r);

    if (t.triangular_70k) {
      r.id += "-70k";
      r.label += ", 70k";
      r.options.iterations = r.options.policy.iterations = n(70000);
      r.paper_accuracy = t.triangular_70k;
      rows.push_back(r);
    }
  }
  return rows;
}

std::vector<CompareRow> select_rows(const std::vector<CompareRow>& rows,
                                    const std::vector<std::string>& ids) {
  if (ids.empty()) return rows;
  std::string known;
  for (const auto& r : rows) known += (known.empty() ? "" : ", ") + r.id;
  std::vector<CompareRow> selected;
  for (const auto& id : ids) {
    const auto match =
        std::find_if(rows.begin(), rows.end(), [&](const CompareRow& r) { return r.id == id; });
    TORCH_CHECK(match != rows.end(), "compare: unknown row '", id, "' (rows: ", known, ")");
    selected.push_back(*match);
  }
  return selected;
}

std::vector<CompareRow> demo_rows(int64_t iterations) {
  TORCH_CHECK(iterations >= 4, "compare: expected at least 4 demo iterations, but got ",
              iterations);
  std::vector<CompareRow> rows;
  auto r = row("triangular2", "triangular2, 0.001-0.006", OptimizerKind::Sgd, Policy::Triangular2,
               iterations, std::nullopt, "");
  r.options.policy.base_lr = 0.001;
  r.options.policy.max_lr = 0.006;
  r.options.policy.step_size = std::max<int64_t>(1, iterations / 4);
  rows.push_back(r);

  r = row("step", "step decay (0.001, x0.1 at 6/7 and 13/14)", OptimizerKind::Sgd,
          Policy::MultiStep, iterations, std::nullopt, "");
  r.options.policy.base_lr = 0.001;
  r.options.policy.gamma = 0.1;
  rows.push_back(r);

  r = row("adam-triangular", "Adam, triangular 0.0005-0.002", OptimizerKind::Adam,
          Policy::Triangular, iterations, std::nullopt, "");
  r.options.policy.base_lr = 0.0005;
  r.options.policy.max_lr = 0.002;
  r.options.policy.step_size = std::max<int64_t>(1, iterations / 4);
  rows.push_back(r);
  return rows;
}

std::string write_report(const CompareOptions& options, const std::vector<CompareRow>& rows,
                         const std::string& dataset) {
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
       << r.options.policy.describe() << " | ";
    const auto summary_path = dir + "/summary.json";
    if (!fs::is_regular_file(summary_path)) {
      const auto progress = last_evaluation(dir + "/eval.csv");
      if (progress.iteration == 0) {
        md << r.options.iterations << " | " << paper_cell << " | not run | | | | |\n";
      } else {
        md << progress.iteration << " of " << r.options.iterations << " | " << paper_cell
           << " | running: " << fixed(progress.accuracy, 2) << " | " << fixed(progress.best, 2)
           << " | | | |\n";
      }
      continue;
    }
    const auto s = read_text(summary_path);
    const auto done = static_cast<int64_t>(json_number(s, "iterations").value_or(0));
    md << done;
    if (done < r.options.iterations) md << " of " << r.options.iterations;
    md << " | " << paper_cell << " | ";
    if (json_true(s, "diverged")) {
      md << "diverged";
    } else if (const auto a = json_number(s, "final_test_accuracy")) {
      md << fixed(*a, 2);
    }
    md << " | ";
    if (const auto b = json_number(s, "best_test_accuracy")) md << fixed(*b, 2);
    md << " | ";
    if (const auto lr = json_number(s, "final_lr")) md << *lr;
    md << " | " << fixed(json_number(s, "images_per_second").value_or(0), 0) << " | "
       << duration(json_number(s, "wall_seconds").value_or(0)) << " |\n";
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
      << "- Machine: " << machine_description() << ", " << options.threads << " threads, "
      << options.device.str() << ", LibTorch " << torch_version() << "\n"
      << "- Each run's exact `cifar10 train` command is in its `summary.json`.\n";
  replace_file(options.out_dir + "/results.md", doc.str());
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
     << "set output '" << gnuplot_output(images[0]) << "'\n"
     << "set ylabel 'test accuracy (%)'\nset title 'CIFAR-10 test accuracy'\n"
     << "plot ";
  for (size_t i = 0; i < present.size(); ++i) {
    gp << (i ? ", \\\n     " : "") << "'" << out_dir << "/" << present[i]->id
       << "/eval.csv' every ::1 using 1:3 with linespoints pt 7 ps 0.5 title '" << present[i]->label
       << "'";
  }
  gp << "\nset output '" << gnuplot_output(images[1]) << "'\n"
     << "set logscale y\nset ylabel 'learning rate'\nset title 'Learning rate (multiplier-1 "
        "group)'\nplot ";
  for (size_t i = 0; i < present.size(); ++i) {
    const auto& r = *present[i];
    const int64_t every = std::max<int64_t>(1, r.options.iterations / 2000);
    gp << (i ? ", \\\n     " : "") << "'" << out_dir << "/" << r.id << "/train.csv' every " << every
       << "::1 using 1:2 with lines title '" << r.label << "'";
  }
  gp << "\n";
  replace_file(script_path, gp.str());
  return run_gnuplot(script_path, images);
}

std::string run_compare(const CompareOptions& options, const DataPair& data) {
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

  for (auto& r : rows) {
    if (options.report_only) break;
    const auto dir = options.out_dir + "/" + r.id;
    auto& o = r.options;
    o.eval_every = options.eval_every > 0 ? options.eval_every : default_eval;
    o.seed = options.seed;
    o.threads = options.threads;
    o.device = options.device;
    o.progress = options.progress;
    o.dataset = data.description;
    o.out_dir = dir;
    o.checkpoint = dir + "/checkpoint.pt";
    o.label = r.id;
    if (finished(dir, o.iterations)) {
      std::cerr << r.id << ": already done in " << dir << "\n";
      fs::remove(o.checkpoint);  // left by a kill between the summary and its removal
      continue;
    }
    if (fs::is_regular_file(o.checkpoint)) o.resume = o.checkpoint;
    o.command = options.train_prefix + " " + train_arguments(o) + " --out " + dir;
    std::cerr << r.id << ": " << o.policy.describe() << ", " << optimizer_name(o.optimizer) << ", "
              << o.iterations << " iterations" << (o.resume.empty() ? "" : " (resuming)") << "\n";
    const auto result = train(o, data.train, data.test);
    if (result.diverged) std::cerr << r.id << ": " << result.message << "\n";
    fs::remove(o.checkpoint);
    write_report(options, reported, data.description);
    write_plots(options.out_dir, reported);
  }
  const auto table = write_report(options, reported, data.description);
  write_plots(options.out_dir, reported);
  return table;
}

}  // namespace cifar10
