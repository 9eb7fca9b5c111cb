#pragma once

#include <torch/optim/optimizer.h>

namespace torchclr {

/// The one place that knows which optimizers have a momentum to cycle: SGD and RMSprop
/// (`momentum`), Adam and AdamW (first element of `betas`).

/// Whether the options of a param group have a momentum that torchclr can read and write.
bool has_momentum(const torch::optim::OptimizerOptions& options);

/// The momentum (or beta1) of a param group's options; a clear error for other optimizers.
double get_momentum(const torch::optim::OptimizerOptions& options);

/// Writes the momentum (or beta1) of a param group's options; a clear error for other optimizers.
void set_momentum(torch::optim::OptimizerOptions& options, double momentum);

}  // namespace torchclr
