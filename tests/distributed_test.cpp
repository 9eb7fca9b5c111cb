// Data-parallel training on c10d with Gloo over loopback: ranks run as threads of this process,
// each with its own TCPStore client and ProcessGroupGloo, exactly as separate processes would.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <torch/torch.h>
#include <torchclr/torchclr.h>
#include <unistd.h>

#include <chrono>
#include <exception>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace {

int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
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
  return torch::nn::Sequential(torch::nn::Linear(6, 16), torch::nn::Tanh(),
                               torch::nn::Linear(16, 1));
}

// One SGD-momentum run with a triangular2 CyclicLR over `steps` batches; `rows` selects this
// rank's share of each global batch.
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

TEST(Distributed, TwoRanksEndIdenticalAndMatchOneProcessWithTheGlobalBatch) {
  const int steps = 30, global_batch = 16, world = 2;
  torch::manual_seed(7);
  const auto x = torch::randn({steps, global_batch, 6});
  const auto y = torch::sin(x.sum(2, true));

  auto single = make_model(100);  // rank 0's initial weights, which the broadcast hands to all
  train(single, x, y, 0, global_batch, steps, nullptr);

  // Different weights on each rank until the broadcast (built here: the RNG is process-global).
  std::vector<torch::nn::Sequential> models;
  for (int rank = 0; rank < world; ++rank) models.push_back(make_model(100 + rank));
  const int port = free_port();
  std::vector<std::vector<torch::Tensor>> weights(world);
  run_ranks(world, [&](int rank) {
    auto group = torchclr::ProcessGroup::create(
        torchclr::RendezvousOptions(world, rank).master_port(port).timeout_seconds(30));
    auto& model = models[rank];
    torchclr::broadcast_module(*group, *model);
    torchclr::GradientAverager averager(group, model->parameters(), /*bucket_bytes=*/256);
    EXPECT_GT(averager.num_buckets(), 1u);
    const int64_t share = global_batch / world;
    train(model, x, y, rank * share, (rank + 1) * share, steps, &averager);
    for (const auto& p : model->parameters()) weights[rank].push_back(p.detach().clone());
  });

  const auto reference = single->parameters();
  for (size_t i = 0; i < reference.size(); ++i) {
    EXPECT_TRUE(torch::equal(weights[0][i], weights[1][i])) << "rank weights differ, param " << i;
    EXPECT_TRUE(torch::allclose(weights[0][i], reference[i], 1e-4, 1e-5))
        << "param " << i << " max difference "
        << (weights[0][i] - reference[i]).abs().max().item<double>();
  }
}

TEST(Distributed, RangeTestRecordsTheSameCurveAndStopsTogetherOnEveryRank) {
  const int world = 2;
  std::vector<torch::nn::Sequential> models;
  for (int rank = 0; rank < world; ++rank) models.push_back(make_model(5));
  std::vector<torchclr::RangeTestResult> results(world);
  std::vector<bool> restored(world);
  const int port = free_port();
  run_ranks(world, [&](int rank) {
    auto group = torchclr::ProcessGroup::create(
        torchclr::RendezvousOptions(world, rank).master_port(port).timeout_seconds(30));
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
      const auto x = torch::randn({8, 6}, gen);
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
  const int port = free_port();
  std::vector<double> means(3);
  std::vector<torch::Device> devices(3, torch::kCUDA);
  run_ranks(3, [&](int rank) {
    auto group = torchclr::ProcessGroup::create(
        torchclr::RendezvousOptions(3, rank).master_port(port).timeout_seconds(30));
    devices[rank] = group->device();
    const auto reduce = torchclr::all_reduce_loss(group);
    means[rank] = reduce(static_cast<double>(rank + 1));
  });
  for (const double m : means) EXPECT_DOUBLE_EQ(m, 2.0);
  for (const auto& d : devices) EXPECT_EQ(d, torch::Device(torch::kCPU));  // Gloo: CPU tensors
}

TEST(Distributed, RankThatLeavesMakesTheOthersFailWithinTheTimeout) {
  const int port = free_port();
  std::string message;
  const auto start = std::chrono::steady_clock::now();
  run_ranks(2, [&](int rank) {
    auto group = torchclr::ProcessGroup::create(
        torchclr::RendezvousOptions(2, rank).master_port(port).timeout_seconds(3));
    if (rank == 1) return;  // dies: its process group goes away without joining the collective
    std::vector<torch::Tensor> grads{torch::ones({4})};
    try {
      group->all_reduce_sum(grads);
    } catch (const c10::Error& e) {
      message = e.what();
    }
  });
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_NE(message.find("torchclr::ProcessGroup: all-reduce failed on rank 0"), std::string::npos)
      << message;
  EXPECT_LT(seconds, 20.0);
}

TEST(Distributed, MissingRankIsARendezvousErrorNotAHang) {
  const int port = free_port();
  const auto start = std::chrono::steady_clock::now();
  try {
    torchclr::ProcessGroup::create(
        torchclr::RendezvousOptions(2, 0).master_port(port).timeout_seconds(2));
    FAIL() << "expected an error";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("torchclr::ProcessGroup: rank 0 could not"),
              std::string::npos)
        << e.what();
  }
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 20.0);
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
}

}  // namespace
