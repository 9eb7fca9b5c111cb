#pragma once

/// torchclr: cyclical learning rates, every common LR schedule and the LR range test for
/// LibTorch (and the Adadelta optimizer LibTorch lacks).

#include <torchclr/version.h>

#include <torchclr/adadelta.h>
#include <torchclr/chained_scheduler.h>
#include <torchclr/constant_lr.h>
#include <torchclr/cosine_annealing_lr.h>
#include <torchclr/cosine_annealing_warm_restarts.h>
#include <torchclr/cyclic_lr.h>
#include <torchclr/exponential_lr.h>
#include <torchclr/lambda_lr.h>
#include <torchclr/linear_lr.h>
#include <torchclr/lr_finder.h>
#include <torchclr/lr_suggestion.h>
#include <torchclr/momentum.h>
#include <torchclr/multi_step_lr.h>
#include <torchclr/one_cycle_lr.h>
#include <torchclr/polynomial_lr.h>
#include <torchclr/reduce_lr_on_plateau.h>
#include <torchclr/scheduler.h>
#include <torchclr/sequential_lr.h>
#include <torchclr/step_lr.h>
#include <torchclr/warmup_stable_decay.h>

#if TORCHCLR_WITH_DISTRIBUTED
#include <torchclr/distributed.h>
#endif
