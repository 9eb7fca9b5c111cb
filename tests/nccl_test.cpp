// The NCCL backend, built where LibTorch has NCCL: c10d's NCCL headers compile with the definitions
// and nccl.h that the library uses, and torchclr::ProcessGroup's "nccl" backend runs a one-rank
// group on a GPU, or says that there is none.

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <torchclr/torchclr.h>

#include <cstdio>
#include <string>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#include <type_traits>

#include "compat.h"

static_assert(TORCHCLR_WITH_NCCL, "built only when LibTorch has NCCL");
static_assert(std::is_base_of_v<torchclr::compat::C10dBackend, c10d::ProcessGroupNCCL>,
              "ProcessGroupNCCL implements the collectives torchclr calls");

namespace {

TEST(Nccl, OneRankGroupAllReducesOnTheGpuOrSaysThereIsNone) {
  const std::string store = testing::TempDir() + "torchclr_nccl_store";
  std::remove(store.c_str());
  const auto options =
      torchclr::RendezvousOptions(1, 0).init_file(store).backend("nccl").timeout_seconds(60);
  if (torch::cuda::device_count() == 0) {
    try {
      torchclr::ProcessGroup::create(options);
      FAIL() << "expected an error without a CUDA device";
    } catch (const c10::Error& e) {
      EXPECT_NE(std::string(e.what()).find("torchclr::ProcessGroup: backend \"nccl\" needs a CUDA "
                                           "device, but none is visible"),
                std::string::npos)
          << e.what();
    }
    return;
  }
  auto group = torchclr::ProcessGroup::create(options);
  ASSERT_TRUE(group->device().is_cuda());
  std::vector<torch::Tensor> tensors{
      torch::arange(6, torch::TensorOptions(torch::kFloat32).device(group->device()))};
  group->all_reduce_sum(tensors);
  EXPECT_TRUE(torch::equal(tensors[0].cpu(), torch::arange(6, torch::kFloat32)));
  EXPECT_EQ(group->all_reduce_mean(2.5), 2.5);
  group->barrier();
  std::remove(store.c_str());
}

}  // namespace
