// Fuzz target: checkpoint loading (LibTorch archive → a small network and its
// optimizer). With WINQ_FUZZ_WRITE_SEED=FILE set, writes a valid checkpoint of
// that network to FILE first (scripts/fuzz.sh seeds the corpus with it).
#include <torch/torch.h>

#include "../src/train/checkpoint.hpp"
#include "fuzz_util.hpp"

namespace {
struct Model {
  winq::train::ResNet net{nullptr};
  std::unique_ptr<torch::optim::SGD> opt;
};
Model& model() {
  static Model m = [] {
    torch::manual_seed(0);
    Model r;
    r.net = winq::train::ResNet(1, 10, 0.125);  // stages of 8, 16, 32, 64 channels
    r.opt = std::make_unique<torch::optim::SGD>(r.net->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
    return r;
  }();
  return m;
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  torch::set_num_threads(1);
  if (const char* seed = std::getenv("WINQ_FUZZ_WRITE_SEED")) {
    winq::train::TrainState st;
    st.config_json = "{}";
    winq::train::save_checkpoint(seed, model().net, *model().opt, st);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = winq::fuzz::write_scratch("last.pt", data, size);
  winq::fuzz::expect_clear_error([&] { winq::train::load_checkpoint(path, model().net, model().opt.get()); });
  return 0;
}
