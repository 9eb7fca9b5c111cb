#pragma once

/// torchclr: cyclical learning rates and the LR range test for LibTorch (and the Adadelta
/// optimizer LibTorch lacks).

#include <torchclr/version.h>

#include <torchclr/adadelta.h>
#include <torchclr/cyclic_lr.h>
#include <torchclr/exponential_lr.h>
#include <torchclr/linear_lr.h>
#include <torchclr/lr_finder.h>
#include <torchclr/momentum.h>
#include <torchclr/multi_step_lr.h>
#include <torchclr/one_cycle_lr.h>
#include <torchclr/scheduler.h>

#if TORCHCLR_WITH_DISTRIBUTED
#include <torchclr/distributed.h>
#endif
