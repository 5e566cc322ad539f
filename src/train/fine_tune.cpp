#include "fine_tune.hpp"

namespace winq::train {

void set_training_mode(torch::nn::Module& net, bool freeze_bn) {
  net.train();
  if (!freeze_bn) return;
  for (auto& m : net.modules(/*include_self=*/false))
    if (auto* bn = m->as<torch::nn::BatchNorm2d>()) bn->eval();
}

torch::Tensor distillation_loss(const torch::Tensor& logits, const torch::Tensor& labels,
                                const torch::Tensor& teacher_logits, double weight, double temperature) {
  namespace F = torch::nn::functional;
  auto ce = F::cross_entropy(logits, labels);
  if (!teacher_logits.defined() || weight == 0) return ce;
  const double T = temperature;
  auto kl = F::kl_div(F::log_softmax(logits / T, F::LogSoftmaxFuncOptions(1)),
                      F::softmax(teacher_logits.detach() / T, F::SoftmaxFuncOptions(1)),
                      F::KLDivFuncOptions().reduction(torch::kBatchMean));
  return ce * (1 - weight) + kl * (weight * T * T);
}

}  // namespace winq::train
