// Cost of one scheduler step() (LRs, and momentum where cycled, written into the optimizer) for
// each scheduler, with 1 and 64 param groups. Compare with bench/python_scheduler_bench.py.

#include <benchmark/benchmark.h>
#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>
#include <torchclr/torchclr.h>

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

template <typename MakeScheduler>
void run(benchmark::State& state, MakeScheduler make) {
  std::vector<torch::Tensor> params;
  auto optimizer = make_sgd(state.range(0), params);
  auto scheduler = make(*optimizer);
  int64_t steps = 0;
  for (auto _ : state) {
    scheduler->step();
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

}  // namespace

BENCHMARK(BM_CyclicLR_Triangular)->Arg(1)->Arg(64);
BENCHMARK(BM_CyclicLR_Triangular2_Momentum)->Arg(1)->Arg(64);
BENCHMARK(BM_CyclicLR_ExpRange_Momentum)->Arg(1)->Arg(64);
BENCHMARK(BM_OneCycleLR_Momentum)->Arg(1)->Arg(64);
BENCHMARK(BM_MultiStepLR)->Arg(1)->Arg(64);
BENCHMARK(BM_ExponentialLR)->Arg(1)->Arg(64);
BENCHMARK(BM_LinearLR)->Arg(1)->Arg(64);

BENCHMARK_MAIN();
