// The drop-in use of torchclr: a LibTorch training loop with a triangular2 cyclical LR.
// Fits a small network to a noisy sine and prints the LR and loss at the end of each half cycle.

#include <torch/torch.h>
#include <torchclr/torchclr.h>

#include <cstdio>

int main() {
  torch::manual_seed(0);
  torch::set_num_threads(1);
  const auto x = torch::linspace(-3, 3, 512).unsqueeze(1);
  const auto y = torch::sin(2 * x) + 0.05 * torch::randn_like(x);

  torch::nn::Sequential model(torch::nn::Linear(1, 64), torch::nn::Tanh(),
                              torch::nn::Linear(64, 64), torch::nn::Tanh(),
                              torch::nn::Linear(64, 1));
  torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
  torchclr::CyclicLR scheduler(optimizer, torchclr::CyclicLROptions(0.005, 0.05)
                                              .step_size_up(250)
                                              .mode(torchclr::CyclicMode::Triangular2));

  std::printf("%8s %10s %9s %10s\n", "iter", "lr", "momentum", "loss");
  for (int iter = 1; iter <= 3000; ++iter) {
    optimizer.zero_grad();
    const auto loss = torch::mse_loss(model->forward(x), y);
    loss.backward();
    optimizer.step();
    scheduler.step();  // after optimizer.step(), once per batch
    if (iter % 250 == 0) {
      std::printf("%8d %10.6f %9.4f %10.6f\n", iter, scheduler.get_last_lr()[0],
                  scheduler.get_last_momentum()[0], loss.item<double>());
    }
  }
  return 0;
}
