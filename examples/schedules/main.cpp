// Draws every torchclr schedule: runs each scheduler on a one-parameter SGD optimizer, writes its
// LR (and momentum, where cycled) per iteration to DIR/<name>.csv, and plots them all into
// DIR/schedules.png through gnuplot.
//
// Usage: schedules [DIR]   (default: schedules)

#include <sys/stat.h>
#include <torch/torch.h>
#include <torchclr/torchclr.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

namespace {

using torch::optim::Optimizer;
using Make = std::function<std::unique_ptr<torchclr::Scheduler>(Optimizer&)>;
using Children = std::vector<std::shared_ptr<torchclr::Scheduler>>;

struct Schedule {
  std::string name;   // CSV file stem
  std::string title;  // the options, as a README shows them
  int64_t steps;
  Make make;
  bool metric = false;  // stepped with a validation loss (once an epoch)
};

// A validation loss that falls, then flattens with some noise: what ReduceLROnPlateau watches.
double validation_loss(int64_t epoch) {
  return 0.3 + 0.7 * std::exp(-static_cast<double>(epoch) / 10) + 0.01 * std::sin(1.7 * epoch);
}

template <typename T, typename Options>
std::shared_ptr<torchclr::Scheduler> child(Optimizer& o, Options options) {
  return std::make_shared<T>(o, std::move(options));
}

std::vector<Schedule> schedules() {
  using namespace torchclr;  // NOLINT(google-build-using-namespace)
  const int64_t n = 1000;
  return {
      {"cyclic_triangular", "CyclicLR(1e-3, 6e-3).step_size_up(125)", n,
       [](Optimizer& o) {
         return std::make_unique<CyclicLR>(o, CyclicLROptions(1e-3, 6e-3).step_size_up(125));
       }},
      {"cyclic_triangular2", "... .mode(Triangular2)", n,
       [](Optimizer& o) {
         return std::make_unique<CyclicLR>(o, CyclicLROptions(1e-3, 6e-3)
                                                  .step_size_up(125)
                                                  .mode(CyclicMode::Triangular2)
                                                  .cycle_momentum(false));
       }},
      {"cyclic_exp_range", "... .mode(ExpRange).gamma(0.998)", n,
       [](Optimizer& o) {
         return std::make_unique<CyclicLR>(o, CyclicLROptions(1e-3, 6e-3)
                                                  .step_size_up(125)
                                                  .mode(CyclicMode::ExpRange)
                                                  .gamma(0.998)
                                                  .cycle_momentum(false));
       }},
      {"one_cycle", "OneCycleLROptions(0.1, 1000)", n,
       [](Optimizer& o) { return std::make_unique<OneCycleLR>(o, OneCycleLROptions(0.1, n)); }},
      {"step", "StepLROptions(200).gamma(0.5)", n,
       [](Optimizer& o) { return std::make_unique<StepLR>(o, StepLROptions(200).gamma(0.5)); }},
      {"multi_step", "MultiStepLROptions({500, 800})", n,
       [](Optimizer& o) {
         return std::make_unique<MultiStepLR>(o, MultiStepLROptions({500, 800}));
       }},
      {"constant", "ConstantLROptions().factor(1/3.).total_iters(100)", n,
       [](Optimizer& o) {
         return std::make_unique<ConstantLR>(o, ConstantLROptions().total_iters(100));
       }},
      {"linear", "LinearLROptions(400).start_factor(0.1)", n,
       [](Optimizer& o) {
         return std::make_unique<LinearLR>(o, LinearLROptions(400).start_factor(0.1));
       }},
      {"exponential", "ExponentialLROptions(0.997)", n,
       [](Optimizer& o) {
         return std::make_unique<ExponentialLR>(o, ExponentialLROptions(0.997));
       }},
      {"polynomial", "PolynomialLROptions(1000).power(2)", n,
       [](Optimizer& o) {
         return std::make_unique<PolynomialLR>(o, PolynomialLROptions(n).power(2));
       }},
      {"lambda", "LambdaLR: warm-up, then 1/sqrt(t)", n,
       [](Optimizer& o) {
         return std::make_unique<LambdaLR>(o, LambdaLROptions([](int64_t t) {
                                             return t < 100 ? (t + 1) / 100.0
                                                            : std::sqrt(100.0 / (t + 1));
                                           }));
       }},
      {"cosine", "CosineAnnealingLROptions(1000).eta_min(1e-3)", n,
       [](Optimizer& o) {
         return std::make_unique<CosineAnnealingLR>(o, CosineAnnealingLROptions(n).eta_min(1e-3));
       }},
      {"warm_restarts", "WarmRestartsOptions(60).t_mult(2).cycle_decay(0.7)", n,
       [](Optimizer& o) {
         return std::make_unique<CosineAnnealingWarmRestarts>(
             o, CosineAnnealingWarmRestartsOptions(60).t_mult(2).cycle_decay(0.7));
       }},
      {"warmup_stable_decay", "WarmupStableDecayOptions(1000).warmup_steps(50) 1-sqrt", n,
       [](Optimizer& o) {
         return std::make_unique<WarmupStableDecay>(
             o, WarmupStableDecayOptions(n).warmup_steps(50).decay_steps(200).decay(
                    DecayShape::OneMinusSqrt));
       }},
      {"plateau", "ReduceLROnPlateau: factor(0.5).patience(5), per epoch", 100,
       [](Optimizer& o) {
         return std::make_unique<ReduceLROnPlateau>(
             o, ReduceLROnPlateauOptions().factor(0.5).patience(5));
       },
       true},
      {"sequential_warmup_cosine", "SequentialLR(LinearLR(50), CosineAnnealingLR(950))", n,
       [](Optimizer& o) {
         auto warmup = child<LinearLR>(o, LinearLROptions(50).start_factor(0.01));
         auto cosine = child<CosineAnnealingLR>(o, CosineAnnealingLROptions(n - 50));
         return std::make_unique<SequentialLR>(o, Children{warmup, cosine},
                                               std::vector<int64_t>{50});
       }},
      {"chained", "ChainedScheduler(ConstantLR(200), ExponentialLR(0.998))", n,
       [](Optimizer& o) {
         auto constant = child<ConstantLR>(o, ConstantLROptions().factor(0.5).total_iters(200));
         auto decay = child<ExponentialLR>(o, ExponentialLROptions(0.998));
         return std::make_unique<ChainedScheduler>(o, Children{constant, decay});
       }},
      {"sequential_warmup_plateau", "SequentialLR(LinearLR(5), ReduceLROnPlateau), per epoch", 100,
       [](Optimizer& o) {
         auto warmup = child<LinearLR>(o, LinearLROptions(5).start_factor(0.1));
         auto plateau =
             child<ReduceLROnPlateau>(o, ReduceLROnPlateauOptions().factor(0.5).patience(5));
         return std::make_unique<SequentialLR>(o, Children{warmup, plateau},
                                               std::vector<int64_t>{5});
       },
       true},
  };
}

/// Runs one schedule and writes its CSV; returns whether it cycles momentum.
bool write_csv(const Schedule& schedule, const std::string& path) {
  auto param = torch::zeros({1}, torch::requires_grad());
  torch::optim::SGD optimizer({param}, torch::optim::SGDOptions(0.1).momentum(0.9));
  const auto scheduler = schedule.make(optimizer);
  std::vector<double> lrs, momentums;
  for (int64_t t = 0; t <= schedule.steps; ++t) {
    if (t > 0) {
      if (schedule.metric) {
        scheduler->step(validation_loss(t));
      } else {
        scheduler->step();
      }
    }
    lrs.push_back(scheduler->get_last_lr()[0]);
    momentums.push_back(scheduler->get_last_momentum()[0]);
  }
  bool cycled = false;  // the optimizer's own momentum is 0.9
  for (const double m : momentums) cycled = cycled || m != 0.9;
  std::ofstream out(path);
  out << (schedule.metric ? "epoch" : "iteration") << ",lr" << (cycled ? ",momentum" : "") << "\n";
  for (size_t t = 0; t < lrs.size(); ++t) {
    out << t << "," << lrs[t];
    if (cycled) out << "," << momentums[t];
    out << "\n";
  }
  return cycled;
}

void write_gnuplot(const std::vector<Schedule>& all, const std::vector<bool>& cycled,
                   const std::string& dir) {
  std::ofstream gp(dir + "/schedules.gp");
  gp << "set terminal pngcairo size 1500,1700 font ',9' noenhanced\n"
     << "set output '" << dir << "/schedules.png'\n"
     << "set datafile separator ','\n"
     << "set key off\nset grid\nset format y '%g'\n"
     << "set multiplot layout 6,3 title 'torchclr schedules: LR (solid, left axis) and momentum "
        "(dashed, right axis) of an SGD optimizer built with lr 0.1, momentum 0.9'\n";
  for (size_t i = 0; i < all.size(); ++i) {
    const std::string csv = dir + "/" + all[i].name + ".csv";
    gp << "set title '" << all[i].title << "'\n"
       << "set xlabel '" << (all[i].metric ? "epoch" : "iteration") << "'\n";
    if (cycled[i]) {
      gp << "set y2tics\nplot '" << csv << "' using 1:2 with lines lw 2 lc rgb '#1f77b4', '" << csv
         << "' using 1:3 axes x1y2 with lines dt 2 lc rgb '#d62728'\nunset y2tics\n";
    } else {
      gp << "plot '" << csv << "' using 1:2 with lines lw 2 lc rgb '#1f77b4'\n";
    }
  }
  gp << "unset multiplot\n";
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "schedules";
  try {
    mkdir(dir.c_str(), 0755);
    const auto all = schedules();
    std::vector<bool> cycled;
    for (const auto& schedule : all) {
      cycled.push_back(write_csv(schedule, dir + "/" + schedule.name + ".csv"));
    }
    write_gnuplot(all, cycled, dir);
    std::cout << "wrote " << all.size() << " CSVs and " << dir << "/schedules.gp\n";
    if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
      std::cerr << "gnuplot not found: run `gnuplot " << dir
                << "/schedules.gp` where it is (Debian: apt install gnuplot-nox)\n";
      return 1;
    }
    if (std::system(("gnuplot '" + dir + "/schedules.gp'").c_str()) != 0) {
      std::cerr << "gnuplot failed on " << dir << "/schedules.gp\n";
      return 1;
    }
    std::cout << "wrote " << dir << "/schedules.png\n";
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
