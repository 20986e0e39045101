// The builder behind buildPlan (core/infer/onednn_plan.hpp): walks a Program in order and emits
// oneDNN primitives for one set of input shapes. Convolutions and their fusions live in
// onednn_conv.cpp, the other ops and the buffer bookkeeping in onednn_build.cpp. Only compiled
// with oneDNN.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "infer/onednn_plan.hpp"

namespace cae::infer::onednn::detail {

using Md = dnnl::memory::desc;

Md plainMd(const Dims& d,
           dnnl::memory::data_type dt = dnnl::memory::data_type::f32);  // row-major (rank 0 as [1])
// md's layout holding another data type.
Md withType(Md md, dnnl::memory::data_type dt);
// A view of a 4-D base reading every (sy, sx)-th pixel from (y0, x0) (see onednn_build.cpp).
Md stridedView(const Md& base, const Dims& dims, int64_t y0, int64_t x0, int64_t sy, int64_t sx);

// An operation applied inside a convolution (oneDNN post-op).
struct PostOp {
  bool sum = false;  // add what the destination holds (an Add fused into the conv)
  Act act = Act::Relu;
  float alpha = 0.f;
};

class Builder {
 public:
  Builder(const Program& p, const onnx::Graph& g, const Options& o, const dnnl::engine& eng,
          dnnl::stream& strm, bool keepValues = false);
  std::unique_ptr<Plan> build(const std::vector<Dims>& inputs);
  struct Quant;  // a convolution's 8-bit types and scales (onednn_conv.cpp)

 private:
  // Structure (shape-free): which ops fuse into which convolution.
  void planFusion();
  void buildOp(int i);

  // Buffers and steps.
  int newBuffer(const Md& md, Buffer::Kind kind = Buffer::Kind::Temp);
  int need(const std::string& value);  // the buffer holding a value (constants made on demand)
  Dims dimsOf(int buf) const;
  // buf in layout and type md, reordered (once per md) when it differs; a u8/s8 md holds steps of
  // `scale` (others: 1), and converting between scales or types rescales.
  int reorderTo(int buf, const Md& md, const std::string& node, float scale = 1.f);
  int f32Of(int buf, const std::string& node);  // an 8-bit buffer as f32, others as they are
  dnnl::reorder::primitive_desc reorderPd(const Md& from, float fromScale, const Md& to,
                                          float toScale) const;
  // int8 (Options::int8): the calibrated range of a value, and the step of its 8-bit form (u8
  // when it is never negative, else s8); 0 when the value has no range.
  float int8Step(const std::string& value) const;
  bool int8Signed(const std::string& value) const;
  bool int8Eligible(const Op& op) const;  // a conv int8 may run (channels, weights, range)
  int temporary(int buf, const std::string& node);  // buf, or a Temp copy of an input/const
  void addStep(const dnnl::primitive& prim, const dnnl::primitive_desc_base& pd,
               std::vector<std::pair<int, BufRef>> args, const std::string& node,
               const std::string& op, double flops = 0);
  void allocate();

  // Ops other than convolutions (onednn_build.cpp).
  void buildEltwise(const Op& op);
  void buildAdd(const Op& op);
  void buildConcat(int i);
  void buildDepthToSpace(const Op& op);

  // Convolutions (onednn_conv.cpp).
  struct ConvPlan;
  Quant quantOf(const ConvPlan& cp, int c, std::size_t len) const;
  void buildConvGroup(int c);
  bool tryConv(int c, std::size_t len, bool split, bool mustBeFast);
  bool tryConvTranspose(int c, std::size_t len, bool mustBeFast);
  ConvPlan convPlan(int c, std::size_t len, bool split);
  Dims weightsOf(const Op& op, int64_t cin);
  bool choosePhases(ConvPlan& cp, bool mustBeFast);
  bool stackable(const ConvPlan& cp) const;
  bool chooseStacked(ConvPlan& cp, bool mustBeFast);
  void emitStacked(const ConvPlan& cp, int y);
  void emitConvParts(const ConvPlan& cp, const std::vector<int>& srcs, int dst);
  void emitPhase(const ConvPlan& cp, std::size_t k, int y);
  std::vector<PostOp> postOps(int c, std::size_t len, std::string* sumInput, std::string* names);
  // A conv's weights (or bias) laid out as `want`; with wScale (8-bit weights, [O, ...]) each
  // output channel o stored in steps of wScale[o].
  int weightsBuffer(const std::string& name, const Dims& dims,
                    const std::function<std::vector<float>(const float*)>& prep, const Md& want,
                    const std::string& node, const std::vector<float>& wScale = {});
  // The bias; an 8-bit conv's in its accumulator's units (÷ q.sSrc · q.sW[o]).
  int biasBuffer(const Op& op, const dnnl::convolution_forward::primitive_desc& pd, const Quant& q);
  Dims tensorDims(const std::string& name);  // an initializer's or an input's dims
  int sumDestination(const std::string& addend, int at, bool mayOverwrite, const Md& md,
                     const std::string& node);

  const Program& p_;
  const onnx::Graph& g_;
  Options o_;
  dnnl::memory::data_type act_;  // convolutions' data type: f32, or bf16 with Options::bf16
  std::map<std::string, std::pair<float, float>> ranges_;  // Options::int8, Concats unified
  dnnl::engine eng_;
  dnnl::stream& strm_;
  bool keep_ = false;  // keepValues (buildPlan)
  std::unique_ptr<Plan> plan_;
  std::map<std::string, int> vals_;
  std::map<int, std::vector<std::pair<Md, int>>> copies_;  // buffer -> its reordered copies
  // Fusion: per op.
  std::vector<std::vector<int>> chain_;  // conv -> the ops fused after it, in order
  std::vector<int> owner_;               // op -> the conv whose chain holds it, or -1
  std::vector<int> splitFrom_;           // conv -> Concat whose inputs it reads directly, or -1
  std::vector<bool> deferredConcat_;     // Concat read only by split convs: made on demand
  std::map<std::string, int> lastUse_;   // value -> last op position reading it (INT_MAX: output)
  std::map<std::string, int> producer_;  // value -> op making it
};

}  // namespace cae::infer::onednn::detail
