// Cost of one scheduler step() (LRs, and momentum where cycled, written into the optimizer) for
// each scheduler, with 1 and 64 param groups. Compare with bench/python_scheduler_bench.py, which
// builds the same cases in PyTorch.

#include <benchmark/benchmark.h>
#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>
#include <torchclr/torchclr.h>

#include <cmath>
#include <memory>
#include <vector>

namespace {

std::unique_ptr<torch::optim::SGD> make_sgd(int64_t groups, std::vector<torch::Tensor>& params) {
  std::vector<torch::optim::OptimizerParamGroup> param_groups;
  for (int64_t g = 0; g < groups; ++g) {
    params.push_back(torch::zeros({1}, torch::requires_grad()));
    param_groups.emplace_back(
        std::vector<torch::Tensor>{params.back()},
        std::make_unique<torch::optim::SGDOptions>(torch::optim::SGDOptions(0.1).momentum(0.9)));
  }
  return std::make_unique<torch::optim::SGD>(param_groups,
                                             torch::optim::SGDOptions(0.1).momentum(0.9));
}

// Steps `make`'s scheduler; with `metric`, through step(metric) (ReduceLROnPlateau).
template <typename MakeScheduler>
void run(benchmark::State& state, MakeScheduler make, bool metric = false) {
  std::vector<torch::Tensor> params;
  auto optimizer = make_sgd(state.range(0), params);
  auto scheduler = make(*optimizer);
  int64_t steps = 0;
  for (auto _ : state) {
    if (metric) {
      scheduler->step(1.0);  // a metric that never improves: the plateau logic runs every step
    } else {
      scheduler->step();
    }
    if (++steps == 1000000) {  // stay inside OneCycleLR's total_steps
      state.PauseTiming();
      scheduler = make(*optimizer);
      steps = 0;
      state.ResumeTiming();
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_CyclicLR_Triangular(benchmark::State& state) {
  run(state, [](torch::optim::Optimizer& o) {
    return std::make_unique<torchclr::CyclicLR>(
        o, torchclr::CyclicLROptions(1e-3, 6e-3).step_size_up(2000).cycle_momentum(false));
  });
}

void BM_CyclicLR_Triangular2_Momentum(benchmark::State& state) {
  run(state, [](torch::optim::Optimizer& o) {
    return std::make_unique<torchclr::CyclicLR>(o, torchclr::CyclicLROptions(1e-3, 6e-3)
                                                       .step_size_up(2000)
                                                       .mode(torchclr::CyclicMode::Triangular2));
  });
}

void BM_CyclicLR_ExpRange_Momentum(benchmark::State& state) {
  run(state, [](torch::optim::Optimizer& o) {
    return std::make_unique<torchclr::CyclicLR>(o, torchclr::CyclicLROptions(1e-3, 6e-3)
                                                       .step_size_up(2000)
                                                       .mode(torchclr::CyclicMode::ExpRange)
                                                       .gamma(0.99994));
  });
}

void BM_OneCycleLR_Momentum(benchmark::State& state) {
  run(state, [](torch::optim::Optimizer& o) {
    return std::make_unique<torchclr::OneCycleLR>(o, torchclr::OneCycleLROptions(0.1, 1000000));
  });
}

void BM_MultiStepLR(benchmark::State& state) {
  run(state, [](torch::optim::Optimizer& o) {
    return std::make_unique<torchclr::MultiStepLR>(o, torchclr::MultiStepLROptions({60000, 65000}));
  });
}

void BM_ExponentialLR(benchmark::State& state) {
  run(state, [](torch::optim::Optimizer& o) {
    return std::make_unique<torchclr::ExponentialLR>(o, torchclr::ExponentialLROptions(0.99994));
  });
}

void BM_LinearLR(benchmark::State& state) {
  run(state, [](torch::optim::Optimizer& o) {
    return std::make_unique<torchclr::LinearLR>(
        o, torchclr::LinearLROptions(4000).start_factor(1.0).end_factor(1.0 / 7));
  });
}

void BM_StepLR(benchmark::State& state) {
  run(state, [](torch::optim::Optimizer& o) {
    return std::make_unique<torchclr::StepLR>(o, torchclr::StepLROptions(2000).gamma(0.5));
  });
}

void BM_ConstantLR(benchmark::State& state) {
  run(state, [](torch::optim::Optimizer& o) {
    return std::make_unique<torchclr::ConstantLR>(o, torchclr::ConstantLROptions());
  });
}

void BM_PolynomialLR(benchmark::State& state) {
  run(state, [](torch::optim::Optimizer& o) {
    return std::make_unique<torchclr::PolynomialLR>(
        o, torchclr::PolynomialLROptions(10000000).power(0.9));
  });
}

void BM_LambdaLR(benchmark::State& state) {
  run(state, [](torch::optim::Optimizer& o) {
    return std::make_unique<torchclr::LambdaLR>(
        o, torchclr::LambdaLROptions([](int64_t t) { return 1.0 / std::sqrt(1.0 + t / 1000.0); }));
  });
}

void BM_CosineAnnealingLR(benchmark::State& state) {
  run(state, [](torch::optim::Optimizer& o) {
    return std::make_unique<torchclr::CosineAnnealingLR>(
        o, torchclr::CosineAnnealingLROptions(10000).eta_min(1e-5));
  });
}

void BM_CosineAnnealingWarmRestarts(benchmark::State& state) {
  run(state, [](torch::optim::Optimizer& o) {
    return std::make_unique<torchclr::CosineAnnealingWarmRestarts>(
        o, torchclr::CosineAnnealingWarmRestartsOptions(1000).t_mult(2));
  });
}

void BM_WarmupStableDecay(benchmark::State& state) {
  run(state, [](torch::optim::Optimizer& o) {
    return std::make_unique<torchclr::WarmupStableDecay>(
        o, torchclr::WarmupStableDecayOptions(10000000).warmup_steps(1000).decay_steps(2000000));
  });
}

void BM_ReduceLROnPlateau(benchmark::State& state) {
  run(
      state,
      [](torch::optim::Optimizer& o) {
        return std::make_unique<torchclr::ReduceLROnPlateau>(o,
                                                             torchclr::ReduceLROnPlateauOptions());
      },
      true);
}

void BM_SequentialLR_Warmup_Cosine(benchmark::State& state) {
  run(state, [](torch::optim::Optimizer& o) {
    auto warmup =
        std::make_shared<torchclr::LinearLR>(o, torchclr::LinearLROptions(1000).start_factor(0.01));
    auto cosine = std::make_shared<torchclr::CosineAnnealingLR>(
        o, torchclr::CosineAnnealingLROptions(10000000));
    return std::make_unique<torchclr::SequentialLR>(
        o, std::vector<std::shared_ptr<torchclr::Scheduler>>{warmup, cosine},
        std::vector<int64_t>{1000});
  });
}

void BM_ChainedScheduler_Constant_Exponential(benchmark::State& state) {
  run(state, [](torch::optim::Optimizer& o) {
    auto constant = std::make_shared<torchclr::ConstantLR>(o, torchclr::ConstantLROptions());
    auto decay =
        std::make_shared<torchclr::ExponentialLR>(o, torchclr::ExponentialLROptions(0.99994));
    return std::make_unique<torchclr::ChainedScheduler>(
        o, std::vector<std::shared_ptr<torchclr::Scheduler>>{constant, decay});
  });
}

// The floor under every scheduler: writing each group's LR through LibTorch's accessor, against the
// same writes through pointers kept from it (which a scheduler cannot keep:
// OptimizerParamGroup::set_options() may free them). torchclr reads each group's options member
// at every step, which costs about what a kept pointer does.
void BM_LibTorch_SetLr_Accessor(benchmark::State& state) {
  std::vector<torch::Tensor> params;
  auto optimizer = make_sgd(state.range(0), params);
  double lr = 0.1;
  for (auto _ : state) {
    lr *= 0.999999;
    for (auto& group : optimizer->param_groups()) group.options().set_lr(lr);
  }
}

void BM_LibTorch_SetLr_KeptPointers(benchmark::State& state) {
  std::vector<torch::Tensor> params;
  auto optimizer = make_sgd(state.range(0), params);
  std::vector<torch::optim::OptimizerOptions*> options;
  for (auto& group : optimizer->param_groups()) options.push_back(&group.options());
  double lr = 0.1;
  for (auto _ : state) {
    lr *= 0.999999;
    for (auto* o : options) o->set_lr(lr);
  }
}

}  // namespace

BENCHMARK(BM_CyclicLR_Triangular)->Arg(1)->Arg(64);
BENCHMARK(BM_CyclicLR_Triangular2_Momentum)->Arg(1)->Arg(64);
BENCHMARK(BM_CyclicLR_ExpRange_Momentum)->Arg(1)->Arg(64);
BENCHMARK(BM_OneCycleLR_Momentum)->Arg(1)->Arg(64);
BENCHMARK(BM_MultiStepLR)->Arg(1)->Arg(64);
BENCHMARK(BM_ExponentialLR)->Arg(1)->Arg(64);
BENCHMARK(BM_LinearLR)->Arg(1)->Arg(64);
BENCHMARK(BM_StepLR)->Arg(1)->Arg(64);
BENCHMARK(BM_ConstantLR)->Arg(1)->Arg(64);
BENCHMARK(BM_PolynomialLR)->Arg(1)->Arg(64);
BENCHMARK(BM_LambdaLR)->Arg(1)->Arg(64);
BENCHMARK(BM_CosineAnnealingLR)->Arg(1)->Arg(64);
BENCHMARK(BM_CosineAnnealingWarmRestarts)->Arg(1)->Arg(64);
BENCHMARK(BM_WarmupStableDecay)->Arg(1)->Arg(64);
BENCHMARK(BM_ReduceLROnPlateau)->Arg(1)->Arg(64);
BENCHMARK(BM_SequentialLR_Warmup_Cosine)->Arg(1)->Arg(64);
BENCHMARK(BM_ChainedScheduler_Constant_Exponential)->Arg(1)->Arg(64);
BENCHMARK(BM_LibTorch_SetLr_Accessor)->Arg(64);
BENCHMARK(BM_LibTorch_SetLr_KeptPointers)->Arg(64);

BENCHMARK_MAIN();
