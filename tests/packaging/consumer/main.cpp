// Builds against torchclr as an installed package or a subdirectory, and checks one schedule.
#include <torch/optim/sgd.h>
#include <torchclr/cyclic_lr.h>
#include <torchclr/version.h>

#include <iostream>

int main() {
  auto weight = torch::zeros({2}, torch::requires_grad());
  torch::optim::SGD optimizer({weight}, torch::optim::SGDOptions(0.1).momentum(0.9));
  torchclr::CyclicLR scheduler(optimizer, torchclr::CyclicLROptions(1e-3, 6e-3).step_size_up(4));
  for (int i = 0; i < 4; ++i) scheduler.step();
  const double peak = scheduler.get_last_lr()[0];
  std::cout << "torchclr " << TORCHCLR_VERSION << ": peak lr " << peak << "\n";
  return peak == 6e-3 ? 0 : 1;
}
