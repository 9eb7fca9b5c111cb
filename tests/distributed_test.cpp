// Data-parallel training on c10d with Gloo over loopback: ranks run as threads of this process,
// each with its own store client and ProcessGroupGloo, exactly as separate processes would.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <torch/torch.h>
#include <torchclr/torchclr.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "temp_dir.h"

namespace {

using torchclr_test::TempDir;

// The ranks of one test meet through a FileStore in the test's own directory: no port to pick,
// so tests that run at the same time (ctest -j, other builds on this machine) never meet each
// other's ranks. The TCPStore path has its own test below.
torchclr::RendezvousOptions rendezvous(const TempDir& dir, int world, int rank,
                                       double timeout_seconds = 30) {
  return torchclr::RendezvousOptions(world, rank)
      .init_file(dir.file("store"))
      .timeout_seconds(timeout_seconds);
}

/// Runs `body(rank)` on `world` threads and rethrows the first exception.
void run_ranks(int world, const std::function<void(int)>& body) {
  std::vector<std::exception_ptr> errors(world);
  std::vector<std::thread> threads;
  for (int rank = 0; rank < world; ++rank) {
    threads.emplace_back([&, rank] {
      try {
        body(rank);
      } catch (...) {
        errors[rank] = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

torch::nn::Sequential make_model(int64_t seed) {
  torch::manual_seed(seed);
  torch::nn::Sequential model(torch::nn::Linear(6, 16), torch::nn::Tanh(),
                              torch::nn::Linear(16, 1));
  model->to(torch::kFloat64);  // rounding far below what the tests compare
  return model;
}

// One SGD-momentum run with a triangular2 CyclicLR over `steps` batches; rows [begin, end) of
// each global batch are this rank's share.
void train(torch::nn::Sequential& model, const torch::Tensor& x, const torch::Tensor& y,
           int64_t begin, int64_t end, int steps, torchclr::GradientAverager* averager) {
  torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
  torchclr::CyclicLR scheduler(optimizer, torchclr::CyclicLROptions(0.01, 0.1).step_size_up(5).mode(
                                              torchclr::CyclicMode::Triangular2));
  for (int step = 0; step < steps; ++step) {
    optimizer.zero_grad();
    const auto xb = x[step].slice(0, begin, end);
    const auto yb = y[step].slice(0, begin, end);
    torch::mse_loss(model->forward(xb), yb).backward();
    if (averager != nullptr) averager->synchronize();
    optimizer.step();
    scheduler.step();
  }
}

double max_relative_difference(const torch::Tensor& a, const torch::Tensor& b) {
  return ((a - b).abs() / b.abs().clamp_min(1e-3)).max().item<double>();
}

// Every rank ends with bitwise the same weights, and those are the weights of one process that
// trains on the whole global batch (to 1e-12 in double precision: the mean of the ranks' mean
// gradients is the global mean up to rounding).
void expect_ranks_match_one_process(int world) {
  const int steps = 30, global_batch = 24;
  torch::manual_seed(7);
  const auto x = torch::randn({steps, global_batch, 6}, torch::kFloat64);
  const auto y = torch::sin(x.sum(2, true));

  auto single = make_model(100);  // rank 0's initial weights, which the broadcast hands to all
  train(single, x, y, 0, global_batch, steps, nullptr);

  // Different weights on each rank until the broadcast (built here: the RNG is process-global).
  std::vector<torch::nn::Sequential> models;
  for (int rank = 0; rank < world; ++rank) models.push_back(make_model(100 + rank));
  const TempDir dir;
  std::vector<std::vector<torch::Tensor>> weights(world);
  run_ranks(world, [&](int rank) {
    auto group = torchclr::ProcessGroup::create(rendezvous(dir, world, rank));
    auto& model = models[rank];
    torchclr::broadcast_module(*group, *model);
    torchclr::GradientAverager averager(group, model->parameters(), /*bucket_bytes=*/512);
    EXPECT_GT(averager.num_buckets(), 1u);
    const int64_t share = global_batch / world;
    train(model, x, y, rank * share, (rank + 1) * share, steps, &averager);
    for (const auto& p : model->parameters()) weights[rank].push_back(p.detach().clone());
  });

  const auto reference = single->parameters();
  ASSERT_EQ(weights[0].size(), reference.size());
  for (size_t i = 0; i < reference.size(); ++i) {
    for (int rank = 1; rank < world; ++rank) {
      EXPECT_TRUE(torch::equal(weights[0][i], weights[rank][i]))
          << "rank " << rank << " differs from rank 0 in param " << i;
    }
    const double difference = max_relative_difference(weights[0][i], reference[i]);
    char text[32];
    std::snprintf(text, sizeof(text), "%.3g", difference);
    ::testing::Test::RecordProperty("max_relative_difference_param" + std::to_string(i), text);
    EXPECT_LT(difference, 1e-12) << "param " << i;
    EXPECT_FALSE(torch::equal(reference[i], make_model(100)->parameters()[i]))
        << "param " << i << " never trained";
  }
}

TEST(Distributed, TwoRanksEndIdenticalAndMatchOneProcessWithTheGlobalBatch) {
  expect_ranks_match_one_process(2);
}

TEST(Distributed, ThreeRanksEndIdenticalAndMatchOneProcessWithTheGlobalBatch) {
  expect_ranks_match_one_process(3);
}

TEST(Distributed, RangeTestRecordsTheSameCurveAndStopsTogetherOnEveryRank) {
  const int world = 2;
  std::vector<torch::nn::Sequential> models;
  for (int rank = 0; rank < world; ++rank) models.push_back(make_model(5));
  std::vector<torchclr::RangeTestResult> results(world);
  std::vector<bool> restored(world);
  const TempDir dir;
  run_ranks(world, [&](int rank) {
    auto group = torchclr::ProcessGroup::create(rendezvous(dir, world, rank));
    auto& model = models[rank];
    std::vector<torch::Tensor> before;
    for (const auto& p : model->parameters()) before.push_back(p.detach().clone());
    torchclr::GradientAverager averager(group, model->parameters());
    torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
    torchclr::LRFinder finder(*model, optimizer);
    // Each rank sees its own data (a different generator per rank), so only the all-reduce makes
    // the curves agree.
    auto gen = at::detail::createCPUGenerator(1000 + rank);
    auto step = [&] {
      const auto x = torch::randn({8, 6}, gen, torch::kFloat64);
      return torch::mse_loss(model->forward(x), torch::sin(x.sum(1, true)));
    };
    results[rank] = finder.range_test(step, torchclr::RangeTestOptions()
                                                .start_lr(1e-4)
                                                .end_lr(100)
                                                .num_iters(60)
                                                .reduce_loss(torchclr::all_reduce_loss(group))
                                                .after_backward([&] { averager.synchronize(); }));
    bool same = true;
    const auto after = model->parameters();
    for (size_t i = 0; i < before.size(); ++i) same = same && torch::equal(before[i], after[i]);
    restored[rank] = same;
  });
  EXPECT_EQ(results[0].losses, results[1].losses);
  EXPECT_EQ(results[0].lrs, results[1].lrs);
  EXPECT_EQ(results[0].stop_reason, results[1].stop_reason);
  EXPECT_TRUE(results[0].diverged()) << "the sweep to LR 100 should blow up";
  EXPECT_TRUE(restored[0]);
  EXPECT_TRUE(restored[1]);
}

TEST(Distributed, LossAverageIsTheSameOnEveryRank) {
  const TempDir dir;
  std::vector<double> means(3);
  std::vector<torch::Device> devices(3, torch::kCUDA);
  run_ranks(3, [&](int rank) {
    auto group = torchclr::ProcessGroup::create(rendezvous(dir, 3, rank));
    devices[rank] = group->device();
    const auto reduce = torchclr::all_reduce_loss(group);
    means[rank] = reduce(static_cast<double>(rank + 1));
  });
  for (const double m : means) EXPECT_DOUBLE_EQ(m, 2.0);
  for (const auto& d : devices) EXPECT_EQ(d, torch::Device(torch::kCPU));  // Gloo: CPU tensors
}

// Each rank measures its own validation loss; the reduce hook averages it, so both ranks take the
// decisions a single process makes from the mean.
TEST(Distributed, PlateauReducesTheLrAtTheSameStepOnEveryRank) {
  const auto metric = [](int rank, int t) {  // falls, then flattens; the ranks disagree
    const double mean = std::max(1.0 / (1 + t), 0.2) + 0.01 * (t % 3);
    return mean + (rank == 0 ? 0.3 : -0.3) * (t % 2);
  };
  const int steps = 30;
  const TempDir dir;
  std::vector<std::vector<double>> lrs(2);
  run_ranks(2, [&](int rank) {
    auto group = torchclr::ProcessGroup::create(rendezvous(dir, 2, rank));
    auto param = torch::zeros({1}, torch::requires_grad());
    torch::optim::SGD optimizer({param}, torch::optim::SGDOptions(0.1));
    torchclr::ReduceLROnPlateau scheduler(
        optimizer, torchclr::ReduceLROnPlateauOptions().patience(2).reduce_metric(
                       torchclr::all_reduce_metric(group)));
    for (int t = 1; t <= steps; ++t) {
      scheduler.step(metric(rank, t));
      lrs[rank].push_back(scheduler.get_last_lr()[0]);
    }
  });
  auto param = torch::zeros({1}, torch::requires_grad());
  torch::optim::SGD optimizer({param}, torch::optim::SGDOptions(0.1));
  torchclr::ReduceLROnPlateau single(optimizer, torchclr::ReduceLROnPlateauOptions().patience(2));
  std::vector<double> expected;
  for (int t = 1; t <= steps; ++t) {
    single.step((metric(0, t) + metric(1, t)) / 2);
    expected.push_back(single.get_last_lr()[0]);
  }
  EXPECT_EQ(lrs[0], expected);
  EXPECT_EQ(lrs[1], expected);
  EXPECT_LT(expected.back(), 0.1);  // it did reduce
}

// A parameter that has no gradient on one rank (its branch unused there) still takes part: that
// rank contributes zeros and gets the average, so both ranks step with the same gradient.
TEST(Distributed, ParameterWithoutGradientOnOneRankContributesZeros) {
  const TempDir dir;
  std::vector<std::vector<torch::Tensor>> grads(2);
  run_ranks(2, [&](int rank) {
    auto group = torchclr::ProcessGroup::create(rendezvous(dir, 2, rank));
    auto used = torch::full({3}, 1.0 + rank, torch::requires_grad());
    auto unused_on_rank1 = torch::full({2, 2}, 2.0, torch::requires_grad());
    torchclr::GradientAverager averager(group, {used, unused_on_rank1});
    auto loss = (used * used).sum() * 0.5;  // gradient: used itself
    if (rank == 0) loss = loss + (unused_on_rank1 * 3.0).sum();
    loss.backward();
    EXPECT_EQ(unused_on_rank1.grad().defined(), rank == 0);
    averager.synchronize();
    grads[rank] = {used.grad().clone(), unused_on_rank1.grad().clone()};
  });
  for (int rank = 0; rank < 2; ++rank) {
    EXPECT_TRUE(torch::equal(grads[rank][0], torch::full({3}, 1.5))) << grads[rank][0];
    EXPECT_TRUE(torch::equal(grads[rank][1], torch::full({2, 2}, 1.5))) << grads[rank][1];
  }
}

// Buffers (batch norm's running statistics) are not gradients: broadcast_module hands rank 0's to
// every rank, and the averager leaves them to each rank's own forward passes, as DDP does without
// buffer broadcasting. The parameters stay identical.
TEST(Distributed, BuffersAreBroadcastButNotAveraged) {
  const TempDir dir;
  std::vector<std::vector<torch::Tensor>> params(2), buffers(2), start_buffers(2), own(2);
  run_ranks(2, [&](int rank) {
    auto group = torchclr::ProcessGroup::create(rendezvous(dir, 2, rank));
    torch::nn::Sequential model(torch::nn::Linear(4, 5), torch::nn::BatchNorm1d(5),
                                torch::nn::Linear(5, 1));
    model->to(torch::kFloat64);
    for (auto& b : model->buffers()) b.data().fill_(0.25 + rank);  // differ until the broadcast
    torchclr::broadcast_module(*group, *model);
    for (const auto& b : model->buffers()) start_buffers[rank].push_back(b.detach().clone());
    torchclr::GradientAverager averager(group, model->parameters());
    torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(0.1));
    auto gen = at::detail::createCPUGenerator(50 + rank);  // each rank its own batch
    const auto x = torch::randn({8, 4}, gen, torch::kFloat64);
    // This rank's statistics after the same forward pass without any other rank.
    torch::nn::BatchNorm1d alone(5);
    alone->to(torch::kFloat64);
    for (size_t i = 0; i < alone->buffers().size(); ++i) {
      alone->buffers()[i].data().copy_(model->buffers()[i]);
    }
    alone->forward(model[0]->as<torch::nn::Linear>()->forward(x));
    for (const auto& b : alone->buffers()) own[rank].push_back(b.detach().clone());
    optimizer.zero_grad();
    model->forward(x).pow(2).mean().backward();
    averager.synchronize();
    optimizer.step();
    for (const auto& p : model->parameters()) params[rank].push_back(p.detach().clone());
    for (const auto& b : model->buffers()) buffers[rank].push_back(b.detach().clone());
  });
  ASSERT_EQ(buffers[0].size(), 3u);  // running mean, running variance, batches tracked
  for (size_t i = 0; i < params[0].size(); ++i) {
    EXPECT_TRUE(torch::equal(params[0][i], params[1][i])) << "param " << i;
  }
  for (size_t i = 0; i < buffers[0].size(); ++i) {
    EXPECT_TRUE(torch::equal(start_buffers[0][i], start_buffers[1][i])) << "buffer " << i;
    EXPECT_TRUE(torch::equal(start_buffers[1][i], torch::full_like(start_buffers[1][i], 0.25)))
        << "buffer " << i << " is not rank 0's";
    for (int rank = 0; rank < 2; ++rank) {
      EXPECT_TRUE(torch::equal(buffers[rank][i], own[rank][i]))
          << "rank " << rank << " buffer " << i;
    }
  }
  EXPECT_FALSE(torch::equal(buffers[0][0], buffers[1][0])) << "each rank keeps its own statistics";
}

// A rank whose process group goes away while the others wait in a collective: they fail with an
// error naming the collective, at once (Gloo sees the connection close), not after the timeout.
TEST(Distributed, RankThatLeavesMakesTheOthersFailAtOnce) {
  const TempDir dir;
  const double timeout = 10;
  std::string message;
  double seconds = -1;
  run_ranks(2, [&](int rank) {
    auto group = torchclr::ProcessGroup::create(rendezvous(dir, 2, rank, timeout));
    group->barrier();
    if (rank == 1) return;  // dies: its process group goes away without joining the collective
    std::vector<torch::Tensor> grads{torch::ones({4})};
    const auto start = std::chrono::steady_clock::now();
    try {
      group->all_reduce_sum(grads);
    } catch (const c10::Error& e) {
      message = e.what();
    }
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  });
  EXPECT_NE(message.find("torchclr::ProcessGroup: all-reduce failed on rank 0 (another rank died "
                         "or timed out?)"),
            std::string::npos)
      << message;
  ::testing::Test::RecordProperty("seconds_to_fail", std::to_string(seconds));
  EXPECT_GE(seconds, 0);
  EXPECT_LT(seconds, 2.0) << "the survivor waited for the timeout (" << timeout << " s)";
}

// A rank that never comes: rendezvous fails once the timeout has passed, not before and not
// never (the store and Gloo's own rendezvous may each wait up to the timeout: measured 1.5 times
// the timeout through a FileStore, 2.5 times through the TCPStore).
TEST(Distributed, MissingRankIsARendezvousErrorAfterTheTimeout) {
  const TempDir dir;
  const double timeout = 2;
  const auto start = std::chrono::steady_clock::now();
  try {
    torchclr::ProcessGroup::create(rendezvous(dir, 2, 0, timeout));
    FAIL() << "expected an error";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("torchclr::ProcessGroup: rank 0 could not"),
              std::string::npos)
        << e.what();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ::testing::Test::RecordProperty("seconds_to_fail", std::to_string(seconds));
  EXPECT_GE(seconds, timeout * 0.9);
  EXPECT_LT(seconds, 3 * timeout + 2);  // the store's wait, then Gloo's, each up to the timeout
}

// The TCPStore: rank 0 serves it at master_port. A port can only be picked by trying: one that
// another process takes between the pick and rank 0's bind makes rank 0 fail at once ("Address
// already in use"), and the test tries another.
int unused_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
                  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  close(fd);
  if (!ok) throw std::runtime_error("no free port on loopback");
  return ntohs(addr.sin_port);
}

// Runs `attempt(port)` on fresh ports until it does not fail for a port in use.
void on_a_free_port(const std::function<void(int)>& attempt) {
  for (int tries = 0;; ++tries) {
    try {
      attempt(unused_port());
      return;
    } catch (const c10::Error& e) {
      if (tries == 4 || std::string(e.what()).find("in use") == std::string::npos) throw;
    }
  }
}

TEST(Distributed, TcpStoreRendezvousOnLoopback) {
  std::vector<double> means(2);
  on_a_free_port([&](int port) {
    run_ranks(2, [&](int rank) {
      auto group = torchclr::ProcessGroup::create(
          torchclr::RendezvousOptions(2, rank).master_port(port).timeout_seconds(10));
      means[rank] = group->all_reduce_mean(rank == 0 ? 1.0 : 4.0);
    });
  });
  EXPECT_EQ(means, (std::vector<double>{2.5, 2.5}));
}

TEST(Distributed, TcpStoreMissingRankIsARendezvousErrorAfterTheTimeout) {
  const double timeout = 2;
  on_a_free_port([&](int port) {
    const auto start = std::chrono::steady_clock::now();
    try {
      torchclr::ProcessGroup::create(
          torchclr::RendezvousOptions(2, 0).master_port(port).timeout_seconds(timeout));
      ADD_FAILURE() << "expected an error";
    } catch (const c10::Error& e) {
      const std::string text = e.what();
      if (text.find("in use") != std::string::npos) throw;
      EXPECT_NE(text.find("torchclr::ProcessGroup: rank 0 could not"), std::string::npos) << text;
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ::testing::Test::RecordProperty("seconds_to_fail", std::to_string(seconds));
    EXPECT_GE(seconds, timeout * 0.9);
    EXPECT_LT(seconds, 3 * timeout + 2);
  });
}

TEST(Distributed, RejectsBadRendezvousOptions) {
  auto expect_error = [](const torchclr::RendezvousOptions& options, const std::string& text) {
    try {
      torchclr::ProcessGroup::create(options);
      ADD_FAILURE() << "expected an error containing " << text;
    } catch (const c10::Error& e) {
      EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
    }
  };
  expect_error(torchclr::RendezvousOptions(2, 2),
               "torchclr::ProcessGroup: expected rank in [0, 2), but got 2");
  expect_error(torchclr::RendezvousOptions(0, 0),
               "torchclr::ProcessGroup: expected world_size >= 1, but got 0");
  expect_error(torchclr::RendezvousOptions(1, 0).backend("mpi"),
               "torchclr::ProcessGroup: expected backend \"gloo\"");
#if !TORCHCLR_WITH_NCCL
  // Without NCCL in LibTorch there is no "nccl" backend (tests/nccl_test.cpp covers it where
  // there is).
  expect_error(torchclr::RendezvousOptions(1, 0).backend("nccl"),
               "torchclr::ProcessGroup: expected backend \"gloo\", but got \"nccl\"");
#endif
}

}  // namespace
