#include "composite.h"

#include <c10/util/Exception.h>

#include "archive.h"

namespace torchclr {
namespace detail {

void check_children(const std::string& owner, const torch::optim::Optimizer& optimizer,
                    const Children& children) {
  TORCH_CHECK(!children.empty(), owner, ": expected at least one scheduler, but got none");
  for (size_t i = 0; i < children.size(); ++i) {
    TORCH_CHECK(children[i] != nullptr, owner, ": expected a scheduler, but scheduler ", i,
                " is null");
    TORCH_CHECK(SchedulerAccess::optimizer(*children[i]) == &optimizer, owner,
                ": expected every scheduler to be built on this optimizer, but scheduler ", i,
                " (a ", children[i]->name(), ") was built on another one");
  }
}

void save_children(torch::serialize::OutputArchive& archive, const std::string& prefix,
                   const Children& children) {
  write_int(archive, prefix + "count", static_cast<int64_t>(children.size()));
  for (size_t i = 0; i < children.size(); ++i) {
    torch::serialize::OutputArchive child;
    children[i]->save(child);
    archive.write(prefix + std::to_string(i), child);
  }
}

void load_children(torch::serialize::InputArchive& archive, const std::string& prefix,
                   const Children& children, const std::string& owner) {
  const int64_t count = read_int(archive, prefix + "count", owner);
  TORCH_CHECK(count == static_cast<int64_t>(children.size()), owner, ": expected a checkpoint of ",
              children.size(), " schedulers, but got one of ", count);
  for (size_t i = 0; i < children.size(); ++i) {
    torch::serialize::InputArchive child;
    TORCH_CHECK(archive.try_read(prefix + std::to_string(i), child), owner, ": expected the key '",
                prefix, i, "' in the checkpoint, but it is missing");
    SchedulerAccess::load_state(*children[i], child);
  }
}

}  // namespace detail
}  // namespace torchclr
