// What winq adapt adds to the training loop when it fine-tunes a trained
// network: BatchNorm frozen at its trained statistics, and knowledge
// distillation from the network it started from.
#pragma once
#include <torch/torch.h>

namespace winq::train {

// Training mode for `net`; with freeze_bn its BatchNorm layers stay in
// evaluation mode: they normalise with the running statistics and do not
// update them (their scale and shift still learn), as when BatchNorm is folded
// into the conv at deployment.
void set_training_mode(torch::nn::Module& net, bool freeze_bn);

// (1 − weight)·CE(logits, labels) + weight·T²·KL(softmax(teacher/T) ‖ softmax(logits/T)),
// batch mean; an undefined teacher_logits gives the cross-entropy alone.
// (Hinton et al. 2015: the T² keeps the soft term's gradients at the scale of
// the hard term's whatever T is.)
torch::Tensor distillation_loss(const torch::Tensor& logits, const torch::Tensor& labels,
                                const torch::Tensor& teacher_logits, double weight, double temperature);

}  // namespace winq::train
