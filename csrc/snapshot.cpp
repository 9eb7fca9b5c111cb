#include "snapshot.h"

#include <c10/util/Exception.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>
#include <torch/utils.h>

#include <cstdio>
#include <utility>

namespace torchclr::detail {
namespace {

void write_tensors(torch::serialize::OutputArchive& archive, const std::string& prefix,
                   const std::vector<torch::Tensor>& tensors) {
  archive.write(prefix + "/size", torch::tensor(static_cast<int64_t>(tensors.size())));
  for (size_t i = 0; i < tensors.size(); ++i) {
    // Read back on the CPU and copied into the live tensor, wherever that lives.
    archive.write(prefix + "/" + std::to_string(i), tensors[i].detach().to(torch::kCPU),
                  /*is_buffer=*/true);
  }
}

std::vector<torch::Tensor> read_tensors(torch::serialize::InputArchive& archive,
                                        const std::string& prefix) {
  torch::Tensor size;
  archive.read(prefix + "/size", size);
  std::vector<torch::Tensor> tensors(static_cast<size_t>(size.item<int64_t>()));
  for (size_t i = 0; i < tensors.size(); ++i) {
    archive.read(prefix + "/" + std::to_string(i), tensors[i], /*is_buffer=*/true);
  }
  return tensors;
}

void copy_into(const std::vector<torch::Tensor>& live, const std::vector<torch::Tensor>& saved) {
  TORCH_CHECK(live.size() == saved.size(), "LRFinder: expected the model to keep its ",
              saved.size(), " tensors during the range test, but it now has ", live.size());
  for (size_t i = 0; i < live.size(); ++i) {
    live[i].detach().copy_(saved[i]);
  }
}

}  // namespace

Snapshot::Snapshot(torch::nn::Module& model, torch::optim::Optimizer& optimizer, std::string path)
    : model_(model), optimizer_(optimizer), path_(std::move(path)) {
  training_.push_back(model.is_training());
  for (const auto& child : model.named_modules("", /*include_self=*/false)) {
    training_.push_back(child.value()->is_training());
  }
  for (const auto& group : optimizer.param_groups()) {
    options_.push_back(group.options().clone());
  }
  state_entries_ = optimizer.state().size();

  torch::serialize::OutputArchive optimizer_archive;
  optimizer.save(optimizer_archive);
  torch::serialize::OutputArchive archive;
  write_tensors(archive, "params", model.parameters());
  write_tensors(archive, "buffers", model.buffers());
  archive.write("optimizer", optimizer_archive);
  if (path_.empty()) {
    archive.save_to([this](const void* data, size_t size) {
      bytes_.append(static_cast<const char*>(data), size);
      return size;
    });
  } else {
    archive.save_to(path_);
  }
}

Snapshot::~Snapshot() {
  if (!path_.empty()) {
    std::remove(path_.c_str());
  }
}

void Snapshot::restore() {
  torch::NoGradGuard no_grad;
  torch::serialize::InputArchive archive;
  if (path_.empty()) {
    archive.load_from(bytes_.data(), bytes_.size());
  } else {
    archive.load_from(path_);
  }
  copy_into(model_.parameters(), read_tensors(archive, "params"));
  copy_into(model_.buffers(), read_tensors(archive, "buffers"));

  torch::serialize::InputArchive optimizer_archive;
  archive.read("optimizer", optimizer_archive);
  // State created during the test must go: `Optimizer::load` only adds the saved entries.
  optimizer_.state().clear();
  optimizer_.load(optimizer_archive);
  auto& groups = optimizer_.param_groups();
  for (size_t g = 0; g < groups.size(); ++g) {
    groups[g].set_options(options_[g]->clone());
  }
  optimizer_.zero_grad();

  // `Module::train` is recursive, so the flags are set in pre-order: each descendant overrides
  // what its parent wrote.
  size_t i = 0;
  model_.train(training_[i++]);
  for (const auto& child : model_.named_modules("", /*include_self=*/false)) {
    if (i < training_.size()) {
      child.value()->train(training_[i++]);
    }
  }
  // Last, so that all the rest is back when it fails.
  TORCH_CHECK(optimizer_.state().size() == state_entries_,
              "LRFinder: expected the optimizer's save() and load() to carry its state of ",
              state_entries_, " parameters, but ", optimizer_.state().size(),
              " came back (an optimizer without its own save() and load()?)");
}

}  // namespace torchclr::detail
