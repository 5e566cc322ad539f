// The packed int8 conv/FC paths (weights packed by pack_int8_weights for the
// dispatched GEMM kernel). Results equal the reference paths in qconv.cpp bit for bit.
#pragma once
#include "op.hpp"
#include "window.hpp"

namespace winq::ops {

bool packed_for_active_kernel(const Node& n);
// A packed QConv (packed_for_active_kernel), with the state qconv_prepare made when there is one.
void qconv_run_packed(RunContext& c);
Prepared qconv_prepare(const Graph& g, const Node& n);
void qgemm_run_packed(RunContext& c);
// The Winograd half of winq::kernel_description (qwinograd_conv.cpp).
std::string winograd_kernel_description(const Node& n);

}  // namespace winq::ops
