// The CIFAR-10 example's library (the reader, the network, training and resume) and the paper's
// experiments built on it (experiments/clr_paper). No real data.
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <torchclr/adadelta.h>
#include <torchclr/momentum.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "batch_stream.h"
#include "checkpoint.h"
#include "cli.h"
#include "compare.h"
#include "compat.h"
#include "dataset.h"
#include "fuzz_inputs.h"
#include "layers.h"
#include "model.h"
#include "policies.h"
#include "range_test.h"
#include "report.h"
#include "resume.h"
#include "run_log.h"
#include "train.h"

namespace fs = std::filesystem;
using namespace cifar10;
using namespace clr_paper;

namespace {

// A fresh directory under the system temp directory, removed at the end of the test.
class TempDir {
 public:
  explicit TempDir(const std::string& name)
      : path_(fs::temp_directory_path() /
              (name + "-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
               "-" + std::to_string(reinterpret_cast<uintptr_t>(this)))) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string str() const { return path_.string(); }
  fs::path path() const { return path_; }

 private:
  fs::path path_;
};

// Record i of file f: label (f + i) % 10, red plane = label, green = 100 + i, blue = pixel index
// % 256, so tests can check which byte went where.
std::vector<uint8_t> record(int file, int i) {
  std::vector<uint8_t> bytes(kCifarRecordBytes);
  const uint8_t label = static_cast<uint8_t>((file + i) % 10);
  bytes[0] = label;
  for (int p = 0; p < 1024; ++p) {
    bytes[1 + p] = label;
    bytes[1 + 1024 + p] = static_cast<uint8_t>(100 + i);
    bytes[1 + 2048 + p] = static_cast<uint8_t>(p % 256);
  }
  return bytes;
}

void write_file(const fs::path& path, int file, int records) {
  std::ofstream out(path, std::ios::binary);
  for (int i = 0; i < records; ++i) {
    const auto bytes = record(file, i);
    out.write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
}

// The official layout, `records` per file: DIR/cifar-10-batches-bin/{data_batch_1..5,test_batch}.
fs::path write_layout(const TempDir& dir, int records) {
  const auto batches = dir.path() / "cifar-10-batches-bin";
  fs::create_directories(batches);
  for (int f = 1; f <= 5; ++f) {
    write_file(batches / ("data_batch_" + std::to_string(f) + ".bin"), f, records);
  }
  write_file(batches / "test_batch.bin", 0, records);
  return batches;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const c10::Error& e) {
    return e.what_without_backtrace();
  }
  return "";
}

// Ten classes an untrained network can tell apart quickly: each class a different mean colour,
// plus noise. Already centred, like the real data after mean subtraction.
ImageData separable_data(int64_t n, uint64_t seed) {
  torch::manual_seed(0);
  const auto colours = torch::randn({10, 3, 1, 1}) * 60.0;  // the same classes for every seed
  torch::manual_seed(seed);
  ImageData data;
  data.targets = torch::arange(n, torch::kInt64).remainder(10);
  data.images =
      (colours.index_select(0, data.targets) + torch::randn({n, 3, 32, 32}) * 20.0).contiguous();
  return data;
}

std::string file_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

void write_lines(const std::string& path, const std::vector<std::string>& lines) {
  std::ofstream out(path, std::ios::trunc);
  for (const auto& line : lines) out << line << "\n";
}

std::vector<std::vector<double>> read_csv(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  std::vector<std::vector<double>> rows;
  while (std::getline(in, line)) {
    std::vector<double> row;
    std::stringstream cells(line);
    for (std::string cell; std::getline(cells, cell, ',');) row.push_back(std::stod(cell));
    rows.push_back(row);
  }
  return rows;
}

}  // namespace

TEST(Cifar10Reader, ReadsTheOfficialLayout) {
  TempDir dir("cifar10-reader");
  write_layout(dir, 3);
  const auto train = read_cifar10(dir.str(), Split::Train);
  const auto test = read_cifar10(dir.str(), Split::Test);
  ASSERT_EQ(train.images.sizes(), (std::vector<int64_t>{15, 3, 32, 32}));
  ASSERT_EQ(test.images.sizes(), (std::vector<int64_t>{3, 3, 32, 32}));
  EXPECT_TRUE(train.images.is_contiguous());
  EXPECT_EQ(train.images.scalar_type(), torch::kFloat32);
  EXPECT_EQ(train.targets.scalar_type(), torch::kInt64);
  // Record 1 of data_batch_2 is the 5th training image: label 3, green plane 101.
  EXPECT_EQ(train.targets[4].item<int64_t>(), 3);
  EXPECT_EQ(train.images[4][0][5][7].item<float>(), 3.0f);
  EXPECT_EQ(train.images[4][1][0][0].item<float>(), 101.0f);
  // Blue plane, row-major: row 2, column 3 is pixel 67.
  EXPECT_EQ(train.images[4][2][2][3].item<float>(), 67.0f);
  // The directory itself can be given too.
  EXPECT_EQ(read_cifar10((dir.path() / "cifar-10-batches-bin").string(), Split::Test).size(), 3);
}

TEST(Cifar10Reader, MeanSubtractionUsesTheTrainingMeanImage) {
  TempDir dir("cifar10-mean");
  write_layout(dir, 2);
  auto train = read_cifar10(dir.str(), Split::Train);
  const auto mean = mean_image(train);
  ASSERT_EQ(mean.sizes(), (std::vector<int64_t>{3, 32, 32}));
  subtract_mean(train, mean);
  EXPECT_LT(train.images.mean(0).abs().max().item<float>(), 1e-4);
}

TEST(Cifar10Reader, BatchesAreGatheredByIndex) {
  TempDir dir("cifar10-batch");
  write_layout(dir, 3);
  TensorImageDataset dataset(read_cifar10(dir.str(), Split::Train));
  const std::vector<size_t> indices{4, 0};
  const auto batch = dataset.get_batch(indices);
  EXPECT_EQ(batch.data.size(0), 2);
  EXPECT_EQ(batch.target[0].item<int64_t>(), 3);
  auto images = torch::empty({2, 3, 32, 32});
  auto targets = torch::empty({2}, torch::kInt64);
  const auto* storage = images.data_ptr<float>();
  gather_batch(dataset.data(), torch::tensor({4, 0}, torch::kInt64), images, targets);
  EXPECT_EQ(images.data_ptr<float>(), storage);  // written in place
  EXPECT_TRUE(torch::equal(images, batch.data));
}

TEST(Cifar10Reader, MissingDirectoryNamesIt) {
  const auto message = error_of([] { read_cifar10("/nonexistent/cifar", Split::Train); });
  EXPECT_NE(message.find("/nonexistent/cifar"), std::string::npos) << message;
  EXPECT_NE(message.find("does not exist"), std::string::npos) << message;
}

TEST(Cifar10Reader, MissingFileNamesItAndTheExpectedSize) {
  TempDir dir("cifar10-missing");
  const auto batches = write_layout(dir, 2);
  fs::remove(batches / "data_batch_3.bin");
  const auto message = error_of([&] { read_cifar10(dir.str(), Split::Train); });
  EXPECT_NE(message.find("data_batch_3.bin"), std::string::npos) << message;
  EXPECT_NE(message.find("30730000 bytes"), std::string::npos) << message;
}

TEST(Cifar10Reader, TruncatedFileNamesItAndTheRecordSize) {
  TempDir dir("cifar10-truncated");
  const auto batches = write_layout(dir, 2);
  fs::resize_file(batches / "test_batch.bin", 2 * kCifarRecordBytes - 7);
  const auto message = error_of([&] { read_cifar10(dir.str(), Split::Test); });
  EXPECT_NE(message.find("test_batch.bin"), std::string::npos) << message;
  EXPECT_NE(message.find("6139 bytes"), std::string::npos) << message;
  EXPECT_NE(message.find("3073-byte records"), std::string::npos) << message;
}

TEST(Cifar10Reader, EmptyFileIsAnError) {
  TempDir dir("cifar10-empty");
  const auto batches = write_layout(dir, 2);
  fs::resize_file(batches / "test_batch.bin", 0);
  const auto message = error_of([&] { read_cifar10(dir.str(), Split::Test); });
  EXPECT_NE(message.find("test_batch.bin"), std::string::npos) << message;
}

TEST(Cifar10Reader, LabelAboveNineNamesTheFileAndRecord) {
  TempDir dir("cifar10-label");
  const auto batches = write_layout(dir, 3);
  {
    std::fstream file(batches / "data_batch_5.bin",
                      std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(2 * kCifarRecordBytes);
    file.put(static_cast<char>(42));
  }
  const auto message = error_of([&] { read_cifar10(dir.str(), Split::Train); });
  EXPECT_NE(message.find("data_batch_5.bin"), std::string::npos) << message;
  EXPECT_NE(message.find("label 42 in record 2"), std::string::npos) << message;
}

TEST(Cifar10Net, OutputShapeAndParameterCount) {
  CifarNet model;
  const auto output = model->forward(torch::randn({4, 3, 32, 32}));
  EXPECT_EQ(output.sizes(), (std::vector<int64_t>{4, 10}));
  int64_t count = 0;
  for (const auto& p : model->parameters()) count += p.numel();
  EXPECT_EQ(count, 89578);                     // 2432 + 25632 + 51264 + 10250
  EXPECT_EQ(model->fc->weight.size(1), 1024);  // 64 channels of 4x4: pools rounded up
}

TEST(Cifar10Net, CaffeInitialisation) {
  torch::manual_seed(0);
  CifarNet model;
  EXPECT_NEAR(model->conv1->weight.std().item<double>(), 1e-4, 1e-5);
  EXPECT_NEAR(model->conv2->weight.std().item<double>(), 0.01, 1e-3);
  EXPECT_NEAR(model->fc->weight.std().item<double>(), 0.01, 1e-3);
  EXPECT_EQ(model->conv1->bias.abs().sum().item<double>(), 0.0);
}

TEST(Cifar10Net, PoolingRoundsUpLikeCaffe) {
  namespace F = torch::nn::functional;
  const auto x = torch::ones({1, 1, 8, 8});
  const auto pooled = F::avg_pool2d(x, F::AvgPool2dFuncOptions(3).stride(2).ceil_mode(true));
  EXPECT_EQ(pooled.sizes(), (std::vector<int64_t>{1, 1, 4, 4}));
  // The last window holds 2x2 inputs; Caffe divides by those 4, so an all-ones input stays 1.
  EXPECT_FLOAT_EQ(pooled[0][0][3][3].item<float>(), 1.0f);
}

TEST(Cifar10Net, WithinChannelLrnMatchesCaffesFormula) {
  torch::manual_seed(0);
  const auto x = torch::randn({1, 2, 5, 5}) * 100;
  const auto y = within_channel_lrn(x, 3, 5e-5, 0.75);
  // Caffe: zero padding, the sum over the 3x3 window always divided by 9.
  const auto padded = torch::constant_pad_nd(x, {1, 1, 1, 1});
  for (int c = 0; c < 2; ++c) {
    for (int i = 0; i < 5; ++i) {
      for (int j = 0; j < 5; ++j) {
        const double sum =
            padded[0][c].slice(0, i, i + 3).slice(1, j, j + 3).square().sum().item<double>();
        const double expected =
            x[0][c][i][j].item<double>() / std::pow(1.0 + 5e-5 * sum / 9.0, 0.75);
        EXPECT_NEAR(y[0][c][i][j].item<double>(), expected, 1e-4 * std::abs(expected) + 1e-6);
      }
    }
  }
}

TEST(Cifar10Net, ParamGroupsCarryCaffesMultipliers) {
  CifarNet model;
  const auto groups = caffe_param_groups(model);
  ASSERT_EQ(groups.size(), 4u);
  EXPECT_EQ(lr_multipliers(groups), (std::vector<double>{1, 2, 1, 2}));
  EXPECT_DOUBLE_EQ(groups[2].weight_decay, 1.0);  // 0.004 x 250 on the fc weights
  EXPECT_DOUBLE_EQ(groups[3].weight_decay, 0.0);
  size_t count = 0;
  for (const auto& g : groups) count += g.params.size();
  EXPECT_EQ(count, model->parameters().size());
}

TEST(Cifar10Optimizer, EveryGroupGetsExactlyItsLrAndWeightDecay) {
  // Base LR 0.0005: the x2 groups' 0.001 equals SGD's and Adam's constructor default, which
  // LibTorch 2.x's merging of group options with the optimizer's defaults would replace.
  for (const auto kind :
       {OptimizerKind::Sgd, OptimizerKind::Nesterov, OptimizerKind::Adam, OptimizerKind::RmsProp,
        OptimizerKind::Adagrad, OptimizerKind::Adadelta}) {
    CifarNet model;
    const auto groups = caffe_param_groups(model);
    auto optimizer = make_optimizer(kind, groups, 0.0005);
    const auto& pg = optimizer->param_groups();
    ASSERT_EQ(pg.size(), groups.size());
    for (size_t g = 0; g < groups.size(); ++g) {
      EXPECT_DOUBLE_EQ(pg[g].options().get_lr(), 0.0005 * groups[g].lr_mult) << "group " << g;
      if (const auto* sgd = dynamic_cast<const torch::optim::SGDOptions*>(&pg[g].options())) {
        EXPECT_DOUBLE_EQ(sgd->weight_decay(), groups[g].weight_decay) << "group " << g;
        EXPECT_DOUBLE_EQ(sgd->momentum(), 0.9) << "group " << g;
      }
    }
  }
}

TEST(Cifar10Schedule, KeepsTheGroupRatiosOfEveryPolicy) {
  for (const auto& name : policy_names()) {
    CifarNet model;
    const auto groups = caffe_param_groups(model);
    auto optimizer = make_optimizer(OptimizerKind::Sgd, groups, 0.001);
    PolicyOptions options;
    options.policy = parse_policy(name);
    options.iterations = 100;
    options.step_size = 10;
    const auto scheduler =
        make_scheduler(*optimizer, OptimizerKind::Sgd, options, lr_multipliers(groups));
    for (int t = 0; t < 37; ++t) scheduler->step();
    const auto& pg = optimizer->param_groups();
    EXPECT_NEAR(pg[1].options().get_lr(), 2 * pg[0].options().get_lr(), 1e-15) << name;
    EXPECT_NEAR(pg[2].options().get_lr(), pg[0].options().get_lr(), 1e-15) << name;
    EXPECT_NEAR(pg[3].options().get_lr(), 2 * pg[0].options().get_lr(), 1e-15) << name;
  }
}

TEST(Cifar10Schedule, StagesFollowThePapersTable2) {
  CifarNet model;
  const auto groups = caffe_param_groups(model);
  auto optimizer = make_optimizer(OptimizerKind::Sgd, groups, 0.001);
  PolicyOptions options;
  options.policy = Policy::Triangular2;
  options.stages = parse_stages("0.001:0.005:20:160,0.0001:0.0005:10:220,0.00001:0.00005:5:250");
  const auto scheduler =
      make_scheduler(*optimizer, OptimizerKind::Sgd, options, lr_multipliers(groups));
  std::vector<double> lrs;
  for (int t = 0; t < 250; ++t, scheduler->step()) lrs.push_back(current_lr(*optimizer));
  EXPECT_NEAR(lrs[20], 0.005, 1e-12);    // first peak
  EXPECT_NEAR(lrs[60], 0.003, 1e-12);    // second cycle, half the amplitude
  EXPECT_NEAR(lrs[160], 0.0001, 1e-12);  // second stage starts at its base
  EXPECT_NEAR(lrs[170], 0.0005, 1e-12);
  EXPECT_NEAR(lrs[225], 0.00005, 1e-12);  // third stage's first peak
  // Resuming inside any stage gives the same LRs.
  for (const int64_t start : {0, 37, 160, 171, 230}) {
    auto other = make_optimizer(OptimizerKind::Sgd, groups, 0.001);
    const auto resumed =
        make_scheduler(*other, OptimizerKind::Sgd, options, lr_multipliers(groups), start);
    ASSERT_EQ(resumed->last_step(), start);
    for (int64_t t = start; t < 250; ++t, resumed->step()) {
      ASSERT_DOUBLE_EQ(current_lr(*other), lrs[t]) << "start " << start << ", iteration " << t;
    }
  }
}

TEST(Cifar10Training, LossFallsInFiftyIterations) {
  TempDir dir("cifar10-smoke");
  const auto train_data = separable_data(1000, 1);
  const auto test_data = separable_data(200, 2);
  TrainOptions options;
  options.policy.policy = Policy::Triangular;
  options.policy.base_lr = 0.001;
  options.policy.max_lr = 0.006;
  options.policy.step_size = 25;
  options.iterations = 50;
  options.batch_size = 20;
  options.eval_every = 50;
  options.progress = false;
  options.out_dir = dir.str();
  const auto result = train(options, train_data, test_data);
  EXPECT_FALSE(result.diverged);
  const auto rows = read_csv(dir.str() + "/train.csv");
  ASSERT_EQ(rows.size(), 50u);
  double first = 0, last = 0;
  for (int i = 0; i < 10; ++i) {
    first += rows[i][3] / 10;
    last += rows[40 + i][3] / 10;
  }
  EXPECT_LT(last, first - 0.3) << "first 10: " << first << ", last 10: " << last;
  ASSERT_TRUE(result.final_test_accuracy.has_value());
  EXPECT_GT(*result.final_test_accuracy, 30.0);
  EXPECT_TRUE(fs::is_regular_file(dir.str() + "/summary.json"));
}

TEST(Cifar10Training, DivergenceStopsWithCsvsIntact) {
  TempDir dir("cifar10-diverge");
  const auto data = separable_data(200, 3);
  TrainOptions options;
  options.policy.policy = Policy::Fixed;
  options.policy.base_lr = 1e6;
  options.iterations = 50;
  options.batch_size = 20;
  options.eval_every = 0;
  options.progress = false;
  options.out_dir = dir.str();
  const auto result = train(options, data, data);
  EXPECT_TRUE(result.diverged);
  EXPECT_NE(result.message.find("diverged"), std::string::npos) << result.message;
  const auto rows = read_csv(dir.str() + "/train.csv");
  ASSERT_FALSE(rows.empty());
  EXPECT_FALSE(std::isfinite(rows.back()[3]));
}

namespace {

// A run stopped at iteration 27 and resumed from its checkpoint ends where an uninterrupted run
// does: the same LRs, losses and weights.
void expect_resume_matches_uninterrupted(OptimizerKind kind, const std::string& stages = "") {
  SCOPED_TRACE(optimizer_name(kind) + " " + stages);
  TempDir dir("cifar10-resume");
  const auto data = separable_data(400, 4);
  TrainOptions options;
  options.optimizer = kind;
  options.policy.policy = Policy::Triangular2;
  options.policy.base_lr = 0.001;
  options.policy.max_lr = 0.006;
  options.policy.step_size = 5;
  if (!stages.empty()) options.policy.stages = parse_stages(stages);
  options.iterations = 40;
  options.batch_size = 20;  // 20 batches an epoch: the resume point is mid-epoch
  options.eval_every = 0;
  options.progress = false;

  auto whole = options;
  whole.out_dir = dir.str() + "/whole";
  whole.checkpoint = dir.str() + "/whole.pt";
  train(whole, data, data);

  auto first = options;
  first.iterations = 27;
  first.out_dir = dir.str() + "/split";
  first.checkpoint = dir.str() + "/split.pt";
  train(first, data, data);
  auto second = options;
  second.out_dir = first.out_dir;
  second.checkpoint = first.checkpoint;
  second.resume = first.checkpoint;
  train(second, data, data);

  // Every CSV row the same text (LR, momentum and loss as printed).
  const auto a = read_lines(whole.out_dir + "/train.csv");
  const auto b = read_lines(second.out_dir + "/train.csv");
  ASSERT_EQ(a.size(), 41u);
  EXPECT_EQ(a, b);

  // The final state bitwise: weights, the optimizer's momentum buffers, and the schedule with
  // the LR (and momentum) it writes into every param group.
  struct Final {
    CifarNet model;
    std::unique_ptr<torch::optim::Optimizer> optimizer;
    std::unique_ptr<torchclr::Scheduler> scheduler;
  };
  auto load_final = [&](const std::string& path) {
    torch::serialize::InputArchive archive, model_archive, optimizer_archive, schedule_archive;
    archive.load_from(path);
    archive.read("model", model_archive);
    archive.read("optimizer", optimizer_archive);
    archive.read("schedule", schedule_archive);
    Final f;
    f.model->load(model_archive);
    const auto groups = caffe_param_groups(f.model);
    f.optimizer = make_optimizer(options.optimizer, groups, options.policy.base_lr);
    f.optimizer->load(optimizer_archive);
    f.scheduler = make_scheduler(*f.optimizer, options.optimizer, schedule_options(options),
                                 lr_multipliers(groups), options.iterations);
    torch::serialize::InputArchive scheduler_archive;
    schedule_archive.read("scheduler", scheduler_archive);
    f.scheduler->load(scheduler_archive);
    return f;
  };
  const auto fa = load_final(whole.checkpoint);
  const auto fb = load_final(second.checkpoint);
  const auto pa = fa.model->parameters();
  const auto pb = fb.model->parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) {
    EXPECT_TRUE(torch::equal(pa[i], pb[i])) << "parameter " << i;
  }
  const auto& ga = fa.optimizer->param_groups();
  const auto& gb = fb.optimizer->param_groups();
  ASSERT_EQ(ga.size(), gb.size());
  for (size_t g = 0; g < ga.size(); ++g) {
    EXPECT_EQ(ga[g].options().get_lr(), gb[g].options().get_lr()) << "group " << g;
    if (has_momentum(kind)) {
      EXPECT_EQ(torchclr::get_momentum(ga[g].options()), torchclr::get_momentum(gb[g].options()))
          << "group " << g;
    }
  }
  // SGD's momentum buffers (the other optimizers' state is covered by the weights it produced).
  if (kind != OptimizerKind::Sgd && kind != OptimizerKind::Nesterov) return;
  ASSERT_EQ(fa.optimizer->state().size(), pa.size());
  for (size_t i = 0; i < pa.size(); ++i) {
    auto buffer = [&](const Final& f, const torch::Tensor& p) {
      const auto& state = f.optimizer->state();
      const auto at = state.find(torchclr::compat::state_key(p));
      EXPECT_NE(at, state.end()) << "no state for parameter " << i;
      return at == state.end()
                 ? torch::Tensor()
                 : static_cast<const torch::optim::SGDParamState&>(*at->second).momentum_buffer();
    };
    EXPECT_TRUE(torch::equal(buffer(fa, pa[i]), buffer(fb, pb[i]))) << "momentum of " << i;
  }
}

}  // namespace

TEST(Cifar10Training, ResumeGivesTheSameLrsAndWeights) {
  expect_resume_matches_uninterrupted(OptimizerKind::Sgd);
}

// Table 2's form: the resume point, 27, is inside the second of three stages.
TEST(Cifar10Training, ResumeInsideAStageOfAMultiStageSchedule) {
  expect_resume_matches_uninterrupted(OptimizerKind::Sgd,
                                      "0.001:0.005:5:20,0.0001:0.0005:3:30,0.00001:0.00005:2:40");
}

TEST(Cifar10Training, ResumeWorksWithEveryTable3Optimizer) {
  for (const auto kind : {OptimizerKind::Nesterov, OptimizerKind::Adam, OptimizerKind::RmsProp,
                          OptimizerKind::Adagrad, OptimizerKind::Adadelta}) {
    expect_resume_matches_uninterrupted(kind);
  }
}

TEST(Cifar10Optimizers, MomentumFollowsTheLibrarysRule) {
  CifarNet model;
  const auto groups = caffe_param_groups(model);
  for (const auto& name : optimizer_names()) {
    const auto kind = parse_optimizer(name);
    auto optimizer = make_optimizer(kind, groups, 0.001);
    const auto& options = optimizer->param_groups()[0].options();
    EXPECT_EQ(has_momentum(kind), torchclr::has_momentum(options)) << name;
    EXPECT_EQ(current_momentum(*optimizer, kind),
              has_momentum(kind) ? torchclr::get_momentum(options) : 0.0)
        << name;
  }
  EXPECT_TRUE(has_momentum(OptimizerKind::RmsProp));  // LibTorch's RMSprop has one (0 here)
  EXPECT_FALSE(has_momentum(OptimizerKind::Adagrad));
  EXPECT_FALSE(has_momentum(OptimizerKind::Adadelta));
}

TEST(Cifar10Optimizers, AdadeltaHasCaffesSettings) {
  CifarNet model;
  const auto groups = caffe_param_groups(model);
  auto optimizer = make_optimizer(parse_optimizer("adadelta"), groups, 0.01);
  ASSERT_NE(dynamic_cast<torchclr::Adadelta*>(optimizer.get()), nullptr);
  for (size_t g = 0; g < groups.size(); ++g) {
    const auto& o =
        static_cast<const torchclr::AdadeltaOptions&>(optimizer->param_groups()[g].options());
    EXPECT_DOUBLE_EQ(o.lr(), 0.01 * groups[g].lr_mult);
    EXPECT_DOUBLE_EQ(o.weight_decay(), groups[g].weight_decay);
    EXPECT_EQ(o.rho(), 0.9);   // Caffe's AdaDelta decays by the solver's momentum
    EXPECT_EQ(o.eps(), 1e-8);  // Caffe's delta
  }
}

// The paper's Table 3 (arXiv 1506.01186v6, page 5): LR bounds, policy, iterations, accuracy.
TEST(Cifar10Compare, Table3RowsFollowThePaper) {
  struct Expected {
    std::string id;
    OptimizerKind optimizer;
    Policy policy;
    double base_lr;
    double max_lr;  // triangular only
    int64_t iterations;
    double paper;
  };
  const std::vector<Expected> expected = {
      {"nesterov-fixed", OptimizerKind::Nesterov, Policy::MultiStep, 0.001, 0, 70000, 82.1},
      {"nesterov-triangular", OptimizerKind::Nesterov, Policy::Triangular, 0.001, 0.006, 25000,
       81.3},
      {"adam-fixed", OptimizerKind::Adam, Policy::MultiStep, 0.0005, 0, 70000, 81.4},
      {"adam-triangular", OptimizerKind::Adam, Policy::Triangular, 0.0005, 0.002, 25000, 79.8},
      {"adam-triangular-70k", OptimizerKind::Adam, Policy::Triangular, 0.0005, 0.002, 70000, 81.1},
      {"rmsprop-fixed", OptimizerKind::RmsProp, Policy::MultiStep, 0.0001, 0, 70000, 75.2},
      {"rmsprop-triangular", OptimizerKind::RmsProp, Policy::Triangular, 0.0001, 0.0003, 25000,
       72.8},
      {"rmsprop-triangular-70k", OptimizerKind::RmsProp, Policy::Triangular, 0.0001, 0.0003, 70000,
       75.1},
      {"adagrad-fixed", OptimizerKind::Adagrad, Policy::MultiStep, 0.003, 0, 70000, 74.6},
      {"adagrad-triangular", OptimizerKind::Adagrad, Policy::Triangular, 0.003, 0.035, 25000, 76.0},
      {"adadelta-fixed", OptimizerKind::Adadelta, Policy::MultiStep, 0.01, 0, 70000, 67.3},
      {"adadelta-triangular", OptimizerKind::Adadelta, Policy::Triangular, 0.01, 0.1, 25000, 67.3},
  };
  const auto rows = paper_rows(1.0);
  for (const auto& e : expected) {
    const auto r = select_rows(rows, {e.id}).at(0);
    const auto& p = r.options.policy;
    EXPECT_EQ(r.options.optimizer, e.optimizer) << e.id;
    EXPECT_EQ(p.policy, e.policy) << e.id;
    EXPECT_EQ(r.options.iterations, e.iterations) << e.id;
    EXPECT_EQ(p.base_lr, e.base_lr) << e.id;
    if (e.policy == Policy::Triangular) {
      EXPECT_EQ(p.max_lr, e.max_lr) << e.id;
      EXPECT_EQ(p.step_size, 2000) << e.id;
    } else {
      EXPECT_EQ(p.effective_milestones(), (std::vector<int64_t>{60000, 65000})) << e.id;
      EXPECT_EQ(p.effective_gamma(), 0.1) << e.id;
    }
    EXPECT_EQ(r.paper_accuracy, std::optional<double>(e.paper)) << e.id;
    EXPECT_EQ(r.paper_source, "Table 3") << e.id;
  }
}

TEST(Cifar10Compare, UnknownRowIsAnErrorListingTheRows) {
  const auto message = error_of([] { select_rows(paper_rows(1.0), {"adadelta-cyclic"}); });
  EXPECT_NE(message.find("compare: unknown row 'adadelta-cyclic'"), std::string::npos) << message;
  EXPECT_NE(message.find("adadelta-triangular"), std::string::npos) << message;
}

// Every Table 3 row, at the smallest scale (3 to 7 iterations, step size 1), trains with its
// optimizer under its schedule; a second run finds them done; the table and plots list them.
TEST(Cifar10Compare, EveryTable3RowTrainsAFewIterations) {
  TempDir dir("cifar10-table3");
  DataPair data;
  data.train = separable_data(400, 5);
  data.test = separable_data(100, 6);
  data.description = "generated";
  CompareOptions options;
  options.out_dir = dir.str();
  options.scale = 1e-4;
  options.progress = false;
  for (const auto* optimizer : {"nesterov", "adam", "rmsprop", "adagrad", "adadelta"}) {
    options.rows.push_back(std::string(optimizer) + "-triangular");
    options.rows.push_back(std::string(optimizer) + "-fixed");
  }
  options.rows.push_back("adam-triangular-70k");
  options.rows.push_back("rmsprop-triangular-70k");
  const auto table = run_compare(options, data);

  for (const auto& r : select_rows(paper_rows(options.scale), options.rows)) {
    const auto row_dir = dir.str() + "/" + r.id;
    const auto summary = nlohmann::json::parse(file_text(row_dir + "/summary.json"));
    EXPECT_EQ(summary.at("optimizer"), optimizer_name(r.options.optimizer)) << r.id;
    EXPECT_EQ(summary.at("diverged"), false) << r.id;
    EXPECT_EQ(summary.at("iterations"), r.options.iterations) << r.id;
    const auto train_rows = read_csv(row_dir + "/train.csv");
    ASSERT_EQ(static_cast<int64_t>(train_rows.size()), r.options.iterations) << r.id;
    const auto& p = r.options.policy;
    EXPECT_NEAR(train_rows[0][1], p.base_lr, 1e-15) << r.id;  // the schedule drives its LR
    if (p.policy == Policy::Triangular) {
      EXPECT_NEAR(train_rows[1][1], p.max_lr, 1e-15) << r.id;  // step size 1: the peak
    }
    for (const auto& row : train_rows) EXPECT_TRUE(std::isfinite(row[3])) << r.id;
    EXPECT_NE(table.find("| " + r.label + " | " + optimizer_name(r.options.optimizer) + " | "),
              std::string::npos)
        << r.id;
  }
  EXPECT_NE(table.find("67.3 (Table 3)"), std::string::npos) << table;
  EXPECT_EQ(table.find("not run"), std::string::npos) << table;

  // Finished rows are not run again.
  const auto before = fs::last_write_time(dir.path() / "adadelta-fixed" / "train.csv");
  run_compare(options, data);
  EXPECT_EQ(fs::last_write_time(dir.path() / "adadelta-fixed" / "train.csv"), before);
}

// A data-parallel run whose global batch does not split evenly over the ranks is refused before
// any rank trains or waits for the others.
class TwoRankGroup : public torchclr::ProcessGroup {
 public:
  int64_t rank() const override { return 0; }
  int64_t world_size() const override { return 2; }
  torch::Device device() const override { return torch::kCPU; }
  void all_reduce_sum(std::vector<torch::Tensor>&) override { unexpected(); }
  void broadcast(std::vector<torch::Tensor>&, int64_t) override { unexpected(); }
  void barrier() override { unexpected(); }

 private:
  [[noreturn]] static void unexpected() {
    throw std::logic_error("a collective ran before the batch size was checked");
  }
};

TEST(Cifar10DataParallel, BatchThatDoesNotSplitOverTheRanksIsRejected) {
  const auto data = separable_data(100, 7);
  TrainOptions options;
  options.iterations = 5;
  options.batch_size = 25;
  options.progress = false;
  options.group = std::make_shared<TwoRankGroup>();
  EXPECT_NE(error_of([&] {
              train(options, data, data);
            }).find("--batch-size: expected a multiple of the 2 ranks, but got 25"),
            std::string::npos);

  RangeTestCliOptions range;
  range.batch_size = 25;
  range.epochs = 0.1;
  range.out_dir = "";
  range.group = std::make_shared<TwoRankGroup>();
  DataPair pair{data, data, DatasetKind::Cifar10, "generated", {}};
  EXPECT_NE(error_of([&] {
              run_range_test(range, pair);
            }).find("--batch-size: expected a multiple of the 2 ranks, but got 25"),
            std::string::npos);
}

// `compare` skips a row whose summary.json says it finished, and resumes a row that stopped
// part-way from its checkpoint, keeping the CSV rows before it.
TEST(Cifar10Compare, SkipsFinishedRowsAndResumesUnfinishedOnes) {
  TempDir dir("cifar10-compare");
  DataPair data{
      separable_data(200, 8), separable_data(100, 9), DatasetKind::Cifar10, "generated", {}};
  CompareOptions options;
  options.preset = "demo";
  options.demo_iterations = 8;
  options.rows = {"triangular2", "step"};
  options.eval_every = 4;
  options.progress = false;
  options.out_dir = dir.str() + "/whole";
  run_compare(options, data);

  // Another comparison: "step" finished already, "triangular2" stopped at iteration 4 of 8.
  const std::string out = dir.str() + "/interrupted";
  fs::create_directories(out);
  fs::copy(options.out_dir + "/step", out + "/step");
  const auto finished_csv = out + "/step/train.csv";
  const auto long_ago = fs::last_write_time(finished_csv) - std::chrono::hours(24);
  fs::last_write_time(finished_csv, long_ago);
  TrainOptions partial = demo_rows(8)[0].options;
  ASSERT_EQ(demo_rows(8)[0].id, "triangular2");
  partial.eval_every = options.eval_every;
  partial.seed = options.seed;
  partial.threads = options.threads;
  partial.progress = false;
  partial.dataset = data.description;
  partial.out_dir = out + "/triangular2";
  partial.checkpoint = partial.out_dir + "/checkpoint.pt";
  partial.iterations = 4;
  train(partial, data.train, data.test);
  // Mark a row written before the checkpoint: a resumed run keeps it, a restarted one would not.
  auto lines = read_lines(partial.out_dir + "/train.csv");
  ASSERT_EQ(lines.size(), 5u);
  lines[1] += "0";
  write_lines(partial.out_dir + "/train.csv", lines);

  options.out_dir = out;
  run_compare(options, data);
  EXPECT_EQ(fs::last_write_time(finished_csv), long_ago) << "the finished row ran again";
  const auto whole = read_lines(dir.str() + "/whole/triangular2/train.csv");
  auto resumed = read_lines(out + "/triangular2/train.csv");
  ASSERT_EQ(resumed.size(), 9u);
  EXPECT_EQ(resumed[1], whole[1] + "0") << "the rows before the checkpoint were rewritten";
  resumed[1] = whole[1];
  EXPECT_EQ(resumed, whole);
  EXPECT_FALSE(fs::exists(partial.checkpoint));
  EXPECT_TRUE(fs::is_regular_file(out + "/results.md"));
}

// results.md names the seed the rows ran with, and every file `compare` writes (results.md,
// plots.gp, summary.json, the plots) is replaced whole: no partial file is left beside them.
TEST(Cifar10Compare, ReportNamesTheSeedAndLeavesNoPartialFiles) {
  TempDir dir("cifar10-compare-seed");
  DataPair data{
      separable_data(100, 8), separable_data(50, 9), DatasetKind::Cifar10, "generated", {}};
  CompareOptions options;
  options.preset = "demo";
  options.demo_iterations = 4;
  options.rows = {"triangular2"};
  options.eval_every = 2;
  options.seed = 3;
  options.threads = 1;
  options.progress = false;
  options.out_dir = dir.str() + "/seed3";
  run_compare(options, data);
  const auto report = file_text(options.out_dir + "/results.md");
  EXPECT_NE(report.find("Single runs, seed 3."), std::string::npos) << report;
  for (const auto& entry : fs::recursive_directory_iterator(options.out_dir)) {
    EXPECT_NE(entry.path().extension(), ".partial") << "left behind: " << entry.path();
  }
}

// ---------------------------------------------------------------------------------------------
// Checkpoints, resumes and outputs under hostile use: nothing lost, nothing silently wrong.

namespace {

// Whether `text` contains `part`, showing `text` when it does not.
::testing::AssertionResult contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

TrainOptions small_run(const std::string& out_dir, int64_t iterations) {
  TrainOptions options;
  options.policy.policy = Policy::Triangular;
  options.policy.base_lr = 0.001;
  options.policy.max_lr = 0.006;
  options.policy.step_size = 5;
  options.iterations = iterations;
  options.batch_size = 20;
  options.eval_every = 0;
  options.progress = false;
  options.out_dir = out_dir;
  options.checkpoint = out_dir + "/checkpoint.pt";
  return options;
}

// The same run, resumed from its checkpoint and continued to `iterations`.
TrainOptions resumed(const TrainOptions& options, int64_t iterations) {
  auto resume = options;
  resume.iterations = iterations;
  resume.resume = options.checkpoint;
  return resume;
}

int64_t checkpoint_iteration(const std::string& path) {
  torch::serialize::InputArchive archive;
  archive.load_from(path);
  torch::Tensor iteration;
  archive.read("iteration", iteration);
  return iteration.item<int64_t>();
}

bool checkpoint_model_is_finite(const std::string& path) {
  torch::serialize::InputArchive archive, model_archive;
  archive.load_from(path);
  archive.read("model", model_archive);
  CifarNet model;
  model->load(model_archive);
  for (const auto& p : model->parameters()) {
    if (!torch::isfinite(p).all().item<bool>()) return false;
  }
  return true;
}

// The offset and size of the largest stored entry of a zip file (LibTorch stores tensors
// uncompressed), found through its central directory.
std::pair<size_t, size_t> largest_zip_entry(const std::string& bytes) {
  auto u16 = [&](size_t at) {
    return static_cast<size_t>(static_cast<uint8_t>(bytes[at])) |
           static_cast<size_t>(static_cast<uint8_t>(bytes[at + 1])) << 8;
  };
  auto u32 = [&](size_t at) { return u16(at) | u16(at + 2) << 16; };
  size_t end = bytes.size() - 22;
  while (end > 0 && u32(end) != 0x06054b50) --end;  // the end record, before any comment
  std::pair<size_t, size_t> largest{0, 0};
  size_t at = u32(end + 16);
  for (size_t i = 0; i < u16(end + 10) && u32(at) == 0x02014b50; ++i) {
    const size_t size = u32(at + 20), local = u32(at + 42);
    const size_t data = local + 30 + u16(local + 26) + u16(local + 28);
    if (size > largest.second) largest = {data, size};
    at += 46 + u16(at + 28) + u16(at + 30) + u16(at + 32);
  }
  return largest;
}

}  // namespace

TEST(Cifar10Checkpoint, DivergenceAtAnEvaluationKeepsTheLastFiniteCheckpoint) {
  TempDir dir("cifar10-poison");
  const auto data = separable_data(200, 3);
  auto options = small_run(dir.str(), 50);
  // Three sound iterations, then an LR of 1e6 until the run diverges. With an evaluation after
  // every iteration, the first to see the damage is an evaluation: the step that broke the model
  // reported a finite loss, computed before it.
  options.policy.policy = Policy::MultiStep;
  options.policy.milestones = {3};
  options.policy.gamma = 1e9;
  options.eval_every = 1;
  const auto result = train(options, data, data);
  ASSERT_TRUE(result.diverged);
  ASSERT_TRUE(fs::is_regular_file(options.checkpoint));
  const int64_t kept = checkpoint_iteration(options.checkpoint);
  EXPECT_TRUE(checkpoint_model_is_finite(options.checkpoint)) << "iteration " << kept;
  EXPECT_GE(kept, 3);
  EXPECT_TRUE(contains(result.message, "keeps iteration " + std::to_string(kept)));
  for (const auto& row : read_csv(dir.str() + "/eval.csv")) {
    if (row[0] == kept) {
      EXPECT_TRUE(std::isfinite(row[1])) << "test loss at " << kept;
    }
  }
}

TEST(Cifar10Checkpoint, ResumeWithOtherScheduleFlagsNamesEachDifference) {
  TempDir dir("cifar10-flags");
  const auto data = separable_data(200, 6);
  const auto options = small_run(dir.str(), 6);
  train(options, data, data);

  auto other = resumed(options, 12);
  other.policy.policy = Policy::Triangular2;
  other.policy.max_lr = 0.008;
  other.optimizer = OptimizerKind::Adam;
  const auto message = error_of([&] { train(other, data, data); });
  EXPECT_TRUE(contains(message, options.checkpoint));
  EXPECT_TRUE(
      contains(message, "--policy: the checkpoint has triangular, the flags give triangular2"));
  EXPECT_TRUE(contains(message, "--max-lr: the checkpoint has 0.006, the flags give 0.008"));
  EXPECT_TRUE(contains(message, "--optimizer: the checkpoint has sgd, the flags give adam"));

  // An exp checkpoint resumed as fixed is an error too, not a silent switch of schedule.
  auto exp = small_run(dir.str() + "/exp", 6);
  exp.policy.policy = Policy::Exp;
  exp.policy.gamma = 0.9;
  train(exp, data, data);
  auto fixed = resumed(exp, 12);
  fixed.policy.policy = Policy::Fixed;
  fixed.policy.gamma.reset();
  const auto fixed_message = error_of([&] { train(fixed, data, data); });
  EXPECT_TRUE(contains(fixed_message, "--policy: the checkpoint has exp, the flags give fixed"));
  EXPECT_TRUE(contains(fixed_message, "--gamma: the checkpoint has 0.9, the flags give none"));
}

TEST(Cifar10Checkpoint, ResumingAFinishedRunKeepsItsSummary) {
  TempDir dir("cifar10-finished");
  const auto data = separable_data(200, 7);
  auto options = small_run(dir.str(), 6);
  options.eval_every = 3;
  const auto first = train(options, data, data);
  const auto summary = file_text(dir.str() + "/summary.json");
  const auto eval = file_text(dir.str() + "/eval.csv");
  auto again = resumed(options, options.iterations);
  const auto second = train(again, data, data);
  EXPECT_EQ(second.iterations, 6);
  ASSERT_TRUE(second.final_test_accuracy.has_value());
  EXPECT_EQ(*second.final_test_accuracy, *first.final_test_accuracy);
  EXPECT_EQ(file_text(dir.str() + "/summary.json"), summary);
  EXPECT_EQ(file_text(dir.str() + "/eval.csv"), eval);
}

TEST(Cifar10Checkpoint, AKillBetweenTheLastCheckpointAndTheSummaryLosesNothing) {
  TempDir dir("cifar10-no-summary");
  const auto data = separable_data(200, 8);
  auto options = small_run(dir.str(), 6);
  options.eval_every = 3;
  const auto first = train(options, data, data);
  fs::remove(dir.str() + "/summary.json");  // as a kill after the final checkpoint leaves it
  auto again = resumed(options, options.iterations);
  train(again, data, data);
  const auto summary = file_text(dir.str() + "/summary.json");
  const auto json = nlohmann::json::parse(summary);
  EXPECT_EQ(json.at("iterations"), 6) << summary;
  EXPECT_EQ(json.at("final_test_accuracy").get<double>(), first.final_test_accuracy) << summary;
}

TEST(Cifar10Checkpoint, ResumeReplacesTheCsvsAndNeverRewritesThemInPlace) {
  TempDir dir("cifar10-csv");
  const auto data = separable_data(200, 9);
  auto options = small_run(dir.str(), 7);
  train(options, data, data);
  const auto before = file_text(dir.str() + "/train.csv");
  // A reader holding the old file keeps seeing it whole: a kill at any moment of the rewrite
  // leaves either the old file or the new one.
  std::ifstream held(dir.str() + "/train.csv", std::ios::binary);
  auto longer = resumed(options, 12);
  train(longer, data, data);
  const std::string still(std::istreambuf_iterator<char>(held), {});
  EXPECT_EQ(still, before);
  EXPECT_EQ(read_csv(dir.str() + "/train.csv").size(), 12u);
  EXPECT_FALSE(fs::exists(dir.str() + "/train.csv.partial"));
}

TEST(Cifar10Checkpoint, ResumeAfterAnEmptiedCsvRestoresItsHeader) {
  TempDir dir("cifar10-empty-csv");
  const auto data = separable_data(200, 10);
  auto options = small_run(dir.str(), 7);
  train(options, data, data);
  fs::resize_file(dir.str() + "/train.csv", 0);  // what a kill mid-rewrite used to leave
  auto longer = resumed(options, 12);
  train(longer, data, data);
  std::ifstream in(dir.str() + "/train.csv");
  std::string header;
  std::getline(in, header);
  EXPECT_EQ(header, "iteration,lr,momentum,loss");
  EXPECT_EQ(read_csv(dir.str() + "/train.csv").size(), 5u);  // 7 to 11; the rest are lost
}

namespace {

// segments.csv's rows as fields: quoted fields may hold commas ("AMD EPYC (2 cores), Linux").
std::vector<std::vector<std::string>> read_segments(const std::string& path) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& line : read_lines(path)) {
    std::vector<std::string> fields(1);
    bool quoted = false;
    for (size_t i = 0; i < line.size(); ++i) {
      const char c = line[i];
      if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = !quoted;
      } else if (c == ',' && !quoted) {
        fields.emplace_back();
      } else {
        fields.back() += c;
      }
    }
    rows.push_back(fields);
  }
  return rows;
}

}  // namespace

TEST(Cifar10Checkpoint, SegmentsRecordWhereEachInvocationTrainedAndAResumeRedoesItsRows) {
  TempDir dir("cifar10-segments");
  const auto data = separable_data(200, 13);
  auto options = small_run(dir.str(), 7);
  train(options, data, data);
  const std::string at_7 = dir.str() + "/at-7.pt";
  fs::copy_file(options.checkpoint, at_7);
  train(resumed(options, 12), data, data);

  const auto path = dir.str() + "/segments.csv";
  auto rows = read_segments(path);
  ASSERT_EQ(rows.size(), 3u) << file_text(path);
  const std::vector<std::string> header = {"iteration",
                                           "started_utc",
                                           "machine",
                                           "libtorch",
                                           "threads",
                                           "world_size",
                                           "device",
                                           "flush_denormal",
                                           "fused_layer_isa",
                                           "onednn_max_cpu_isa",
                                           "aten_cpu_capability"};
  EXPECT_EQ(rows[0], header);
  const auto numerics = numerics_facts();
  for (size_t r = 1; r < rows.size(); ++r) {
    ASSERT_EQ(rows[r].size(), header.size()) << file_text(path);
    EXPECT_EQ(rows[r][2], machine_description());
    EXPECT_EQ(rows[r][3], torch_version());
    EXPECT_EQ(rows[r][4], "1");
    EXPECT_EQ(rows[r][5], "1");
    EXPECT_EQ(rows[r][6], "cpu");
    EXPECT_EQ(rows[r][8], numerics.fused_layer_isa);
    EXPECT_EQ(rows[r][9], numerics.onednn_max_cpu_isa);
    EXPECT_EQ(rows[r][10], numerics.aten_cpu_capability);
    EXPECT_EQ(rows[r][1].size(), 20u) << rows[r][1];  // 2026-12-02T09:30:00Z
  }
  EXPECT_EQ(rows[1][0], "0");
  EXPECT_EQ(rows[2][0], "7");
  EXPECT_EQ(rows[1][7], "0");
  const auto first_start = rows[1][1];

  // Resumed from iteration 7 again: the second invocation's iterations are redone, so its row
  // goes and the new one takes its place.
  // (Recorded as flushing denormals: the flag is the caller's to set, cifar10::setup.)
  auto again = resumed(options, 12);
  again.resume = at_7;
  again.flush_denormal = true;
  train(again, data, data);
  rows = read_segments(path);
  ASSERT_EQ(rows.size(), 3u) << file_text(path);
  EXPECT_EQ(rows[1][0], "0");
  EXPECT_EQ(rows[1][1], first_start);
  EXPECT_EQ(rows[1][7], "0");
  EXPECT_EQ(rows[2][0], "7");
  EXPECT_EQ(rows[2][7], "1");
  EXPECT_FALSE(fs::exists(path + ".partial"));

  const auto summary = nlohmann::json::parse(file_text(dir.str() + "/summary.json"));
  EXPECT_EQ(summary.at("flush_denormal"), true);
  EXPECT_EQ(summary.at("fused_layer_isa"), numerics.fused_layer_isa);
  EXPECT_EQ(summary.at("onednn_max_cpu_isa"), numerics.onednn_max_cpu_isa);
  EXPECT_EQ(summary.at("aten_cpu_capability"), numerics.aten_cpu_capability);
}

// In a fresh process (the flag changes the process for good): `setup` with --flush-denormal and two
// threads, then half of a million denormals, a product LibTorch splits between its two intra-op
// threads, is zero everywhere.
TEST(Cifar10Checkpoint, FlushDenormalReachesEveryIntraOpThread) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const auto run = [](bool flush) {
    Common common;
    common.threads = 2;
    common.flush_denormal = flush;
    setup(common);
    if (fused_layer_threads(100 * 32) != 2) std::exit(2);  // the two threads are there
    // The denormals are stored bits, not a conversion (which a flushing thread makes zero).
    const uint32_t bits = 0x00010000;  // 9.2e-41
    std::vector<uint32_t> denormals(1 << 20, bits);
    const auto x = torch::from_blob(denormals.data(), {1 << 20}, torch::kInt32).view(torch::kFloat);
    if (!x.view(torch::kInt32).eq(static_cast<int32_t>(bits)).all().item<bool>()) std::exit(4);
    const auto half = x * 0.5f;
    if (half.view(torch::kInt32).eq(0).all().item<bool>()) std::exit(0);
    // Without flushing, half of 9.2e-41 is 4.6e-41, not zero (compared as bits: a flushing
    // thread compares denormals as zero).
    std::exit(half.view(torch::kInt32).ne(0).all().item<bool>() ? 1 : 3);  // 3: some flushed
  };
  EXPECT_EXIT(run(true), ::testing::ExitedWithCode(0), "");
  // Without the flag every product stays a denormal: the check above can fail.
  EXPECT_EXIT(run(false), ::testing::ExitedWithCode(1), "");
}

// The caps are read, never set: oneDNN and ATen are not called between setenv and the restore.
TEST(Cifar10Checkpoint, NumericsFactsReadTheInstructionSetCapsFromTheEnvironment) {
  const auto saved = [](const char* name) -> std::optional<std::string> {
    const char* value = std::getenv(name);
    return value ? std::optional<std::string>(value) : std::nullopt;
  };
  const auto restore = [](const char* name, const std::optional<std::string>& value) {
    if (value) {
      setenv(name, value->c_str(), 1);
    } else {
      unsetenv(name);
    }
  };
  const auto onednn = saved("ONEDNN_MAX_CPU_ISA");
  const auto dnnl = saved("DNNL_MAX_CPU_ISA");
  const auto aten = saved("ATEN_CPU_CAPABILITY");
  unsetenv("ONEDNN_MAX_CPU_ISA");
  setenv("DNNL_MAX_CPU_ISA", "SSE41", 1);
  setenv("ATEN_CPU_CAPABILITY", "default", 1);
  const auto older_name = numerics_facts();
  setenv("ONEDNN_MAX_CPU_ISA", "AVX2", 1);
  const auto both = numerics_facts();
  restore("ONEDNN_MAX_CPU_ISA", onednn);
  restore("DNNL_MAX_CPU_ISA", dnnl);
  restore("ATEN_CPU_CAPABILITY", aten);
  EXPECT_EQ(older_name.onednn_max_cpu_isa, "SSE41");
  EXPECT_EQ(older_name.aten_cpu_capability, "default");
  EXPECT_EQ(both.onednn_max_cpu_isa, "AVX2");  // oneDNN's own name comes first
  EXPECT_EQ(both.fused_layer_isa, fused_layer_isa_name(fused_layer_isa()));
}

TEST(Cifar10Checkpoint, ACheckpointInAMissingDirectoryIsCreatedBeforeTraining) {
  TempDir dir("cifar10-ckpt-dir");
  const auto data = separable_data(200, 11);
  auto options = small_run(dir.str() + "/out", 4);
  options.checkpoint = dir.str() + "/not/yet/there.pt";
  train(options, data, data);
  EXPECT_EQ(checkpoint_iteration(options.checkpoint), 4);
}

TEST(Cifar10Checkpoint, AnUnwritableCheckpointIsAnErrorBeforeTraining) {
  TempDir dir("cifar10-ckpt-file");
  const auto data = separable_data(200, 12);
  std::ofstream(dir.str() + "/file") << "x";
  auto options = small_run(dir.str() + "/out", 4);
  options.checkpoint = dir.str() + "/file/checkpoint.pt";
  const auto message = error_of([&] { train(options, data, data); });
  EXPECT_TRUE(contains(message, "--checkpoint"));
  EXPECT_TRUE(contains(message, options.checkpoint));
  EXPECT_TRUE(read_csv(options.out_dir + "/train.csv").empty()) << "trained before failing";
}

TEST(Cifar10Checkpoint, ABitFlipInTensorDataIsAnErrorNamingTheFile) {
  TempDir dir("cifar10-bitflip");
  const auto data = separable_data(200, 13);
  auto options = small_run(dir.str(), 5);
  train(options, data, data);
  auto bytes = file_text(options.checkpoint);
  const auto [offset, size] = largest_zip_entry(bytes);
  ASSERT_GT(size, 1000u);
  bytes[offset + size / 2] ^= 0x10;
  std::ofstream(options.checkpoint, std::ios::binary | std::ios::trunc) << bytes;
  auto longer = resumed(options, 10);
  const auto message = error_of([&] { train(longer, data, data); });
  EXPECT_TRUE(contains(message, options.checkpoint));
  EXPECT_TRUE(contains(message, "checksum"));
}

TEST(Cifar10Checkpoint, ACheckpointWithoutItsChecksumIsAnError) {
  TempDir dir("cifar10-no-checksum");
  const auto data = separable_data(200, 14);
  auto options = small_run(dir.str(), 5);
  train(options, data, data);
  auto bytes = file_text(options.checkpoint);
  const size_t comment = 23;  // "torchclr-crc32 " and 8 hex digits
  bytes.resize(bytes.size() - comment);
  bytes[bytes.size() - 2] = 0;  // the zip comment's length
  std::ofstream(options.checkpoint, std::ios::binary | std::ios::trunc) << bytes;
  const auto message = error_of([&] { read_checkpoint_file(options.checkpoint); });
  EXPECT_TRUE(contains(message, "its checksum is missing"));
  EXPECT_TRUE(contains(message, options.checkpoint));
}

// A checkpoint as this program wrote them before flags and checksums (format 1).
static void write_format1_checkpoint(const TrainOptions& options, int64_t iteration,
                                     const std::string& path) {
  torch::manual_seed(options.seed);
  CifarNet model;
  const auto groups = caffe_param_groups(model);
  auto optimizer = make_optimizer(options.optimizer, groups, options.policy.base_lr);
  const auto scheduler = make_scheduler(*optimizer, options.optimizer, schedule_options(options),
                                        lr_multipliers(groups), iteration);
  torch::serialize::OutputArchive archive, model_archive, optimizer_archive, schedule_archive,
      scheduler_archive;
  model->save(model_archive);
  optimizer->save(optimizer_archive);
  // Format 1's schedule entry: the iteration, the stage and the running stage's scheduler.
  scheduler->save(scheduler_archive);
  schedule_archive.write("iteration", torch::tensor(iteration, torch::kInt64));
  schedule_archive.write("stage", torch::tensor(int64_t{0}, torch::kInt64));
  schedule_archive.write("scheduler", scheduler_archive);
  archive.write("model", model_archive);
  archive.write("optimizer", optimizer_archive);
  archive.write("schedule", schedule_archive);
  archive.write("iteration", torch::tensor(iteration, torch::kInt64));
  archive.write("wall_seconds", torch::tensor(1.0, torch::kFloat64));
  archive.write("train_seconds", torch::tensor(1.0, torch::kFloat64));
  archive.save_to(path);
}

TEST(Cifar10Checkpoint, AnOlderCheckpointLoadsWithANoteAndItsScheduleChecked) {
  TempDir dir("cifar10-format1");
  const auto data = separable_data(200, 15);
  auto options = small_run(dir.str(), 8);
  options.progress = true;
  write_format1_checkpoint(options, 4, dir.str() + "/old.pt");
  auto resume = options;
  resume.resume = dir.str() + "/old.pt";
  ::testing::internal::CaptureStderr();
  const auto result = train(resume, data, data);
  const auto log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(result.iterations, 8);
  EXPECT_TRUE(contains(log, "from before checksums and recorded flags"));
  EXPECT_EQ(read_csv(dir.str() + "/train.csv").size(), 4u);  // 4 to 7
  EXPECT_EQ(checkpoint_iteration(options.checkpoint), 8);

  // Its schedule is still checked against the flags: other bounds are an error.
  auto other = resume;
  other.policy.max_lr = 0.009;
  other.progress = false;
  const auto message = error_of([&] { train(other, data, data); });
  EXPECT_TRUE(contains(message, "holds another schedule than the flags give"));
}

// LibTorch's zip reader skips the CRC32 of each entry; the loader checks them, so a damaged
// checkpoint from before checksums is an error too, not weights loaded silently.
TEST(Cifar10Checkpoint, ABitFlipInAnOlderCheckpointIsAnErrorNamingTheEntry) {
  TempDir dir("cifar10-format1-bitflip");
  const auto options = small_run(dir.str(), 8);
  const auto path = dir.str() + "/old.pt";
  write_format1_checkpoint(options, 4, path);
  EXPECT_EQ(read_checkpoint_file(path).format, 1);
  auto bytes = file_text(path);
  const auto [offset, size] = largest_zip_entry(bytes);
  ASSERT_GT(size, 1000u);
  bytes[offset + size / 2] ^= 0x10;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  const auto message = error_of([&] { read_checkpoint_file(path); });
  EXPECT_TRUE(contains(message, path)) << message;
  EXPECT_TRUE(contains(message, "/data/")) << message;  // the entry
  EXPECT_TRUE(contains(message, "does not match the CRC32")) << message;
}

// A changed checksum comment or a cut end is an error before LibTorch reads the file (the fuzzer
// crashed LibTorch's reader through a changed comment: tests/fuzz/regressions/checkpoint).
TEST(Cifar10Checkpoint, AChangedOrCutEndIsAnErrorNamingTheFile) {
  TempDir dir("cifar10-changed-end");
  const auto data = separable_data(200, 16);
  const auto options = small_run(dir.str(), 5);
  train(options, data, data);
  const auto intact = file_text(options.checkpoint);
  auto changed = intact;
  changed[changed.size() - 20] ^= 0x80;  // in "torchclr-crc32 "
  auto cut = intact.substr(0, intact.size() - 1000);
  for (const auto& bytes : {changed, cut}) {
    std::ofstream(options.checkpoint, std::ios::binary | std::ios::trunc) << bytes;
    const auto message = error_of([&] { read_checkpoint_file(options.checkpoint); });
    EXPECT_TRUE(contains(message, options.checkpoint)) << message;
    EXPECT_TRUE(contains(message, "does not end with a zip end record")) << message;
  }
}

TEST(Cifar10Reader, CountsThatDifferFromTheReleaseAreWarnedAndRecorded) {
  TempDir dir("cifar10-counts");
  const auto batches = write_layout(dir, 3);
  fs::resize_file(batches / "data_batch_3.bin", 2 * kCifarRecordBytes);
  const auto pair = load_data(DatasetKind::Cifar10, dir.str());
  EXPECT_TRUE(contains(describe_counts(pair), "14 training and 3 test images"));
  std::string warnings;
  for (const auto& w : pair.warnings) warnings += w + "\n";
  EXPECT_TRUE(contains(warnings, "data_batch_3.bin holds 2 records, not 10000"));
  EXPECT_TRUE(
      contains(warnings, "50000 training and 10000 test images, but these files hold 14 and 3"));

  TempDir out("cifar10-counts-out");
  auto options = small_run(out.str(), 2);
  options.batch_size = 7;
  train(options, pair.train, pair.test);
  const auto summary = file_text(out.str() + "/summary.json");
  EXPECT_EQ(nlohmann::json::parse(summary).at("train_images"), 14) << summary;
  EXPECT_EQ(nlohmann::json::parse(summary).at("test_images"), 3) << summary;
}

TEST(Cifar10Flags, ListsRejectEmptyItemsAndIterationsBelowOne) {
  EXPECT_TRUE(contains(error_of([] { parse_stages("0.001:0.005:20:40,"); }),
                       "--stages: expected BASE:MAX:STEP:UNTIL items separated by single commas"));
  EXPECT_TRUE(contains(error_of([] { parse_stages(",0.001:0.005:20:40"); }), "single commas"));
  EXPECT_TRUE(contains(error_of([] { parse_stages("0.001:0.005:20:0"); }),
                       "--stages: expected UNTIL >= 1, but got '0.001:0.005:20:0'"));
  EXPECT_TRUE(contains(error_of([] { parse_milestones("100,,200"); }),
                       "--milestones: expected comma-separated iterations, but got '100,,200'"));
  EXPECT_TRUE(contains(error_of([] { parse_milestones("0,200"); }),
                       "--milestones: expected iterations >= 1, but got '0,200'"));
}

TEST(Cifar10Flags, PolicyValuesAreCheckedNotReplaced) {
  PolicyOptions options;
  options.policy = Policy::Exp;
  options.iterations = 100;
  const auto check = [&options] { check_policy_options(options); };
  for (const double gamma : {std::nan(""), -2.0, 0.0}) {
    options.gamma = gamma;
    EXPECT_TRUE(contains(error_of(check), "--gamma: expected a positive finite number, but got"));
  }
  options.gamma = 10.0;  // 0.001 x 10^100 is past any float
  EXPECT_TRUE(contains(error_of(check), "--gamma: expected a value that keeps the LR finite"));
  options.policy = Policy::OneCycle;
  options.gamma.reset();
  options.base_lr = 0.01;
  options.max_lr = 0.001;
  EXPECT_TRUE(contains(error_of(check),
                       "--base-lr: expected a value below --max-lr (0.001) for onecycle, but got "
                       "0.01"));
  options.base_lr = 1e300;
  EXPECT_TRUE(contains(error_of(check), "--base-lr: expected at most"));
}

TEST(Cifar10Flags, RunFlagsReadBackExactly) {
  TrainOptions options;
  options.policy.policy = Policy::Exp;
  options.policy.gamma = std::pow(0.99994, 5.0);
  const auto flags = run_flags(options);
  std::string gamma;
  for (const auto& [flag, value] : flags) {
    if (flag == "--gamma") gamma = value;
  }
  EXPECT_EQ(std::strtod(gamma.c_str(), nullptr), *options.policy.gamma) << gamma;
}

// Every input the fuzzers found (and the seeds they start from) is rejected with an error or
// read, never a crash: run under scripts/sanitize.sh, also never a sanitizer report.
TEST(Cifar10Fuzz, CommittedInputsAreReadOrRejectedCleanly) {
  size_t inputs = 0;
  for (const auto* kind : {"seeds", "regressions"}) {
    for (const auto* target : {"cifar10_reader", "checkpoint"}) {
      const fs::path dir = fs::path(TORCHCLR_FUZZ_DIR) / kind / target;
      if (!fs::is_directory(dir)) continue;
      for (const auto& entry : fs::directory_iterator(dir)) {
        const auto bytes = file_text(entry.path().string());
        const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
        SCOPED_TRACE(entry.path().string());
        if (std::string(target) == "checkpoint") {
          cifar10_fuzz::resume_from_checkpoint(data, bytes.size());
        } else {
          TempDir scratch("cifar10-fuzz-replay");
          cifar10_fuzz::read_data_file(data, bytes.size(), scratch.str());
        }
        ++inputs;
      }
    }
  }
  EXPECT_GT(inputs, 0u);
}
