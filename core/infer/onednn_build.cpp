// buildPlan: buffers, steps and the ops other than convolutions (onednn_build.hpp).
#if CAE_HAVE_ONEDNN

#include "infer/onednn_build.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>

#include "error.hpp"

namespace cae::infer::onednn::detail {

using dnnl::memory;
using Tag = memory::format_tag;
using Dt = memory::data_type;

namespace {

dnnl::algorithm eltwiseAlg(Act a) {
  switch (a) {
    case Act::Relu:
    case Act::LeakyRelu:
      return dnnl::algorithm::eltwise_relu;  // alpha: the slope below zero
    case Act::Sigmoid:
      return dnnl::algorithm::eltwise_logistic;
    case Act::Tanh:
      return dnnl::algorithm::eltwise_tanh;
  }
  return dnnl::algorithm::eltwise_relu;
}

}  // namespace

// A view of `base` that reads every (sy, sx)-th pixel starting at (y0, x0): the interleave of
// transposed-convolution phases and of DepthToSpace. Works for plain and channel-blocked
// layouts, whose spatial strides are plain numbers.
Md stridedView(const Md& base, const Dims& dims, int64_t y0, int64_t x0, int64_t sy, int64_t sx) {
  Md v = base.submemory_desc(dims, {0, 0, y0, x0});
  v.data.format_desc.blocking.strides[2] *= sy;
  v.data.format_desc.blocking.strides[3] *= sx;
  return v;
}

Md plainMd(const Dims& d, Dt dt) {
  const Dims dims = d.empty() ? Dims{1} : d;
  Dims strides(dims.size());
  int64_t s = 1;
  for (std::size_t i = dims.size(); i-- > 0;) {
    strides[i] = s;
    s *= dims[i];
  }
  return Md(dims, dt, strides);
}

Md withType(Md md, Dt dt) {
  md.data.data_type = memory::convert_to_c(dt);
  return md;
}

bool fastImpl(const std::string& impl) {
  return impl.rfind("ref", 0) != 0 && impl.rfind("gemm", 0) != 0 &&
         impl.find(":gemm") == std::string::npos;
}

Builder::Builder(const Program& p, const onnx::Graph& g, const Options& o, const dnnl::engine& eng,
                 dnnl::stream& strm, bool keepValues)
    : p_(p),
      g_(g),
      o_(o),
      act_(o.bf16 ? Dt::bf16 : Dt::f32),
      ranges_(o.int8),
      eng_(eng),
      strm_(strm),
      keep_(keepValues) {
  for (std::size_t i = 0; i < p_.ops.size(); ++i) producer_[p_.ops[i].output] = int(i);
  // A Concat of 8-bit values is a copy only when its inputs share one step: each gets the union
  // of their ranges (and so does the result).
  for (const Op& op : p_.ops) {
    if (op.kind != OpKind::Concat) continue;
    std::vector<std::string> vs = op.inputs;
    vs.push_back(op.output);
    if (!std::all_of(vs.begin(), vs.end(), [&](const std::string& v) { return ranges_.count(v); }))
      continue;
    std::pair<float, float> u = ranges_[vs[0]];
    for (const std::string& v : vs)
      u = {std::min(u.first, ranges_[v].first), std::max(u.second, ranges_[v].second)};
    for (const std::string& v : vs) ranges_[v] = u;
  }
  planFusion();
  // When each value is read last, in op positions: a fused group runs at its last op, so what it
  // reads (a split conv: its Concat's inputs) stays alive until then; graph outputs, always.
  auto position = [&](std::size_t i) {
    const int o = owner_[i] >= 0 ? owner_[i] : int(i);
    return chain_[std::size_t(o)].empty() ? int(i) : chain_[std::size_t(o)].back();
  };
  auto reads = [&](const std::string& v, int at) {
    lastUse_[v] = std::max(lastUse_.count(v) ? lastUse_[v] : at, at);
  };
  for (std::size_t i = 0; i < p_.ops.size(); ++i) {
    for (const std::string& in : p_.ops[i].inputs) reads(in, position(i));
    if (splitFrom_[i] >= 0)
      for (const std::string& in : p_.ops[std::size_t(splitFrom_[i])].inputs)
        reads(in, position(i));
  }
  for (const std::string& out : p_.outputs) lastUse_[out] = INT_MAX;
  // An Identity's output is its input's buffer: reading it later keeps the input alive.
  for (std::size_t i = p_.ops.size(); i-- > 0;) {
    const Op& op = p_.ops[i];
    if (op.kind == OpKind::Identity && lastUse_.count(op.output))
      reads(op.inputs[0], lastUse_[op.output]);
  }
}

std::unique_ptr<Plan> Builder::build(const std::vector<Dims>& inputs) {
  plan_ = std::make_unique<Plan>();
  plan_->key = inputs;
  if (inputs.size() != p_.inputs.size())
    throw InvalidArgument("the graph has " + std::to_string(p_.inputs.size()) + " inputs, got " +
                          std::to_string(inputs.size()));
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    for (int64_t d : inputs[k])
      if (d < 1) throw ShapeError("input '" + p_.inputs[k] + "' has shape " + dimsStr(inputs[k]));
    const int b = newBuffer(plainMd(inputs[k]), Buffer::Kind::Input);
    plan_->inputs.push_back(b);
    vals_[p_.inputs[k]] = b;
  }
  for (std::size_t i = 0; i < p_.ops.size(); ++i) buildOp(int(i));
  for (const std::string& out : p_.outputs) {
    const int from = need(out);
    const int b = newBuffer(plainMd(dimsOf(from)), Buffer::Kind::Output);
    const dnnl::reorder::primitive_desc pd =
        reorderPd(plan_->bufs[std::size_t(from)].md, plan_->bufs[std::size_t(from)].scale,
                  plan_->bufs[std::size_t(b)].md, 1.f);
    addStep(dnnl::reorder(pd), pd, {{DNNL_ARG_FROM, {from, {}}}, {DNNL_ARG_TO, {b, {}}}}, out,
            "reorder");
    plan_->outputs.push_back(b);
  }
  allocate();
  if (keep_) plan_->values = vals_;
  return std::move(plan_);
}

void Builder::buildOp(int i) {
  const Op& op = p_.ops[std::size_t(i)];
  const int owner = owner_[std::size_t(i)];
  if (owner >= 0) {  // fused: the whole chain is built at its last op
    if (chain_[std::size_t(owner)].back() == i) buildConvGroup(owner);
    return;
  }
  switch (op.kind) {
    case OpKind::Conv:
    case OpKind::ConvTranspose:
      if (chain_[std::size_t(i)].empty()) buildConvGroup(i);
      return;
    case OpKind::Eltwise:
      return buildEltwise(op);
    case OpKind::Add:
      return buildAdd(op);
    case OpKind::Concat:
      if (!deferredConcat_[std::size_t(i)]) buildConcat(i);
      return;
    case OpKind::DepthToSpace:
      return buildDepthToSpace(op);
    case OpKind::Identity:
      vals_[op.output] = need(op.inputs[0]);
      return;
  }
}

int Builder::newBuffer(const Md& md, Buffer::Kind kind) {
  Buffer b;
  b.kind = kind;
  b.md = md;
  plan_->bufs.push_back(b);
  return int(plan_->bufs.size()) - 1;
}

int Builder::need(const std::string& value) {
  const auto it = vals_.find(value);
  if (it != vals_.end()) return it->second;
  const auto init = g_.initializers.find(value);
  if (init != g_.initializers.end()) {
    const onnx::Tensor& t = init->second;
    const int b = newBuffer(plainMd(t.dims), Buffer::Kind::Const);
    Buffer& buf = plan_->bufs[std::size_t(b)];
    buf.mem = memory(buf.md, eng_);
    std::memcpy(buf.mem.get_data_handle(), t.data.data(), t.data.size() * sizeof(float));
    return vals_[value] = b;
  }
  const auto prod = producer_.find(value);
  if (prod != producer_.end() && p_.ops[std::size_t(prod->second)].kind == OpKind::Concat) {
    buildConcat(prod->second);  // deferred for split convolutions, needed whole after all
    return vals_.at(value);
  }
  throw Error("oneDNN backend: value '" + value + "' is used before it is made");
}

Dims Builder::dimsOf(int buf) const { return plan_->bufs[std::size_t(buf)].md.dims(); }

namespace {
bool is8bit(Dt dt) { return dt == Dt::u8 || dt == Dt::s8; }
}  // namespace

int Builder::reorderTo(int buf, const Md& md, const std::string& node, float scale) {
  if (!is8bit(md.data_type())) scale = 1.f;
  auto same = [&](int b) {
    return plan_->bufs[std::size_t(b)].md == md && plan_->bufs[std::size_t(b)].scale == scale;
  };
  if (same(buf)) return buf;
  for (const auto& [m, copy] : copies_[buf])
    if (same(copy)) return copy;
  const Buffer from = plan_->bufs[std::size_t(buf)];  // a copy: newBuffer moves the buffers
  const int b = newBuffer(md);
  plan_->bufs[std::size_t(b)].scale = scale;
  const dnnl::reorder::primitive_desc pd = reorderPd(from.md, from.scale, md, scale);
  addStep(dnnl::reorder(pd), pd, {{DNNL_ARG_FROM, {buf, {}}}, {DNNL_ARG_TO, {b, {}}}}, node,
          is8bit(md.data_type())        ? "reorder(quantize)"
          : is8bit(from.md.data_type()) ? "reorder(dequantize)"
                                        : "reorder");
  copies_[buf].emplace_back(md, b);
  return b;
}

dnnl::reorder::primitive_desc Builder::reorderPd(const Md& from, float fromScale, const Md& to,
                                                 float toScale) const {
  if (fromScale == toScale) return dnnl::reorder::primitive_desc(eng_, from, eng_, to);
  dnnl::primitive_attr attr;  // stored(to) = stored(from) * fromScale / toScale
  attr.set_output_scales(0, {fromScale / toScale});
  return dnnl::reorder::primitive_desc(eng_, from, eng_, to, attr);
}

int Builder::f32Of(int buf, const std::string& node) {
  const Md md = plan_->bufs[std::size_t(buf)].md;
  return is8bit(md.data_type()) ? reorderTo(buf, withType(md, Dt::f32), node) : buf;
}

float Builder::int8Step(const std::string& value) const {
  const auto it = ranges_.find(value);
  if (it == ranges_.end()) return 0.f;
  const auto [lo, hi] = it->second;
  const float m = lo < 0 ? std::max(-lo, hi) / 127.f : hi / 255.f;
  return m > 0 && std::isfinite(m) ? m : 0.f;
}

bool Builder::int8Signed(const std::string& value) const {
  const auto it = ranges_.find(value);
  return it != ranges_.end() && it->second.first < 0;
}

bool Builder::int8Eligible(const Op& op) const {
  if (ranges_.empty() || (op.kind != OpKind::Conv && op.kind != OpKind::ConvTranspose) ||
      op.conv.group != 1 || op.inputs.size() < 2 || int8Step(op.inputs[0]) <= 0)
    return false;
  const auto w = g_.initializers.find(op.inputs[1]);
  if (w == g_.initializers.end() || w->second.dims.size() != 4) return false;
  const Dims& d = w->second.dims;  // Conv: [O, I, kh, kw]; ConvTranspose: [I, O, kh, kw]
  if (d[0] < 16 || d[1] < 16) return false;
  // Not what a conv reading the image (fewer than 16 channels) made: features that close to the
  // pixels need more than 8 bits (denoise-gray on validation crops at sigma 25: 0.37 of the
  // 0.69 dB that 8 bits everywhere cost; bench/reports/int8.md), so their reader runs in bf16
  // or f32.
  std::string v = op.inputs[0];
  for (;;) {
    const auto prod = producer_.find(v);
    if (prod == producer_.end()) return false;  // a graph input
    const Op& p = p_.ops[std::size_t(prod->second)];
    if (p.kind == OpKind::Eltwise || p.kind == OpKind::Identity) {
      v = p.inputs[0];
      continue;
    }
    if (p.kind != OpKind::Conv && p.kind != OpKind::ConvTranspose) return true;
    const auto pw = g_.initializers.find(p.inputs[1]);
    if (pw == g_.initializers.end() || pw->second.dims.size() != 4) return false;
    const int64_t pin =
        p.kind == OpKind::Conv ? pw->second.dims[1] * p.conv.group : pw->second.dims[0];
    return pin >= 16;
  }
}

int Builder::temporary(int buf, const std::string& node) {
  if (plan_->bufs[std::size_t(buf)].kind == Buffer::Kind::Temp) return buf;
  const Md md = plan_->bufs[std::size_t(buf)].md;
  const int b = newBuffer(md);
  const dnnl::reorder::primitive_desc pd(eng_, md, eng_, md);
  addStep(dnnl::reorder(pd), pd, {{DNNL_ARG_FROM, {buf, {}}}, {DNNL_ARG_TO, {b, {}}}}, node,
          "reorder");
  return b;
}

void Builder::addStep(const dnnl::primitive& prim, const dnnl::primitive_desc_base& pd,
                      std::vector<std::pair<int, BufRef>> args, const std::string& node,
                      const std::string& op, double flops) {
  Step s;
  s.prim = prim;
  s.args = std::move(args);
  s.info.node = node;
  s.info.op = op;
  s.info.impl = pd.impl_info_str();
  s.info.flops = flops;
  plan_->flops += flops;
  plan_->steps.push_back(std::move(s));
}

// Temp buffers whose step ranges do not overlap share a slot (greedy, best fit by size).
void Builder::allocate() {
  Plan& p = *plan_;
  for (std::size_t k = 0; k < p.steps.size(); ++k)
    for (const auto& [arg, ref] : p.steps[k].args) {
      Buffer& b = p.bufs[std::size_t(ref.id)];
      b.first = std::min(b.first, int(k));
      b.last = std::max(b.last, int(k));
    }
  std::vector<int> order;
  for (std::size_t i = 0; i < p.bufs.size(); ++i)
    if (p.bufs[i].kind == Buffer::Kind::Temp && p.bufs[i].last >= 0) order.push_back(int(i));
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    return p.bufs[std::size_t(a)].first < p.bufs[std::size_t(b)].first;
  });
  std::vector<std::size_t> size;  // per slot
  std::vector<int> busyUntil;     // per slot: last step of its current buffer
  for (int id : order) {
    Buffer& b = p.bufs[std::size_t(id)];
    const std::size_t need = b.md.get_size();
    // The smallest free slot that fits, else the largest free one (grown), else a new one.
    int best = -1;
    for (std::size_t s = 0; s < size.size() && !keep_; ++s) {
      if (busyUntil[s] >= b.first) continue;
      if (best < 0) {
        best = int(s);
        continue;
      }
      const std::size_t cur = size[std::size_t(best)];
      const bool fits = size[s] >= need, curFits = cur >= need;
      if ((fits && (!curFits || size[s] < cur)) || (!fits && !curFits && size[s] > cur))
        best = int(s);
    }
    if (best < 0) {
      best = int(size.size());
      size.push_back(0);
      busyUntil.push_back(-1);
    }
    size[std::size_t(best)] = std::max(size[std::size_t(best)], need);
    busyUntil[std::size_t(best)] = b.last;
    b.slot = best;
  }
  for (std::size_t s = 0; s < size.size(); ++s) {
    p.slots.emplace_back(Md({memory::dim((size[s] + 3) / 4)}, Dt::f32, Tag::x), eng_);
    std::memset(p.slots.back().get_data_handle(), 0, size[s]);  // padding of blocked layouts
  }
  for (Buffer& b : p.bufs)
    if (b.kind == Buffer::Kind::Input || b.kind == Buffer::Kind::Output)
      b.mem = memory(b.md, eng_, DNNL_MEMORY_NONE);
  for (Step& s : p.steps)
    for (const auto& [arg, ref] : s.args) {
      const Buffer& b = p.bufs[std::size_t(ref.id)];
      if (b.kind == Buffer::Kind::Temp)
        s.bound[arg] = memory(ref.view.is_zero() ? b.md : ref.view, eng_,
                              p.slots[std::size_t(b.slot)].get_data_handle());
      else if (ref.view.is_zero())
        s.bound[arg] = b.mem;
      else
        throw Error("oneDNN backend: a view of a non-temporary buffer");
    }
}

void Builder::buildEltwise(const Op& op) {
  const int x = f32Of(need(op.inputs[0]), op.name);
  const Md md = plan_->bufs[std::size_t(x)].md;
  const dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference, eltwiseAlg(op.act), md,
                                      op.act == Act::LeakyRelu ? op.alpha : 0.f, 0.f);
  const dnnl::eltwise_forward::primitive_desc pd(d, eng_);
  const int y = newBuffer(pd.dst_desc());
  addStep(dnnl::eltwise_forward(pd), pd, {{DNNL_ARG_SRC, {x, {}}}, {DNNL_ARG_DST, {y, {}}}},
          op.name, "eltwise_" + op.op);
  vals_[op.output] = y;
}

void Builder::buildAdd(const Op& op) {
  int a = f32Of(need(op.inputs[0]), op.name), b = f32Of(need(op.inputs[1]), op.name);
  const Dims out = broadcastShape(dimsOf(a), dimsOf(b), op.name);
  // oneDNN broadcasts over equal ranks: a lower-rank operand is read as plain bytes under a
  // rank-padded md (a view, so of a temporary).
  auto ranked = [&](int& buf) {
    const Dims d = dimsOf(buf);
    if (d.size() == out.size()) return plan_->bufs[std::size_t(buf)].md;
    buf = reorderTo(temporary(buf, op.name), plainMd(d), op.name);
    Dims padded(out.size() - d.size(), 1);
    padded.insert(padded.end(), d.begin(), d.end());
    return plainMd(padded);
  };
  Md m0 = ranked(a), m1 = ranked(b);
  // A bf16 operand beside an f32 one (a residual: a bf16 conv's output plus the f32 graph
  // input) is read as f32: the sum, and what is added to the input, keep f32 precision.
  if (m0.data_type() != m1.data_type())
    for (auto [buf, m] : {std::pair<int*, Md*>{&a, &m0}, {&b, &m1}})
      if (m->data_type() != Dt::f32) {
        *m = withType(*m, Dt::f32);
        *buf = reorderTo(*buf, *m, op.name);
      }
  // oneDNN broadcasts src1 only: src0 must have the result's shape.
  if (m0.dims() != out && m1.dims() == out) {
    std::swap(a, b);
    std::swap(m0, m1);
  }
  auto ref = [&](int buf, const Md& m) {
    return BufRef{buf, plan_->bufs[std::size_t(buf)].md == m ? Md() : m};
  };
  if (m0.dims() != out) {  // both operands broadcast: spread a over the result first (0 + a)
    const Md full = plainMd(out);
    const int zero = newBuffer(full, Buffer::Kind::Const);
    memory z(full, eng_);
    std::memset(z.get_data_handle(), 0, full.get_size());
    plan_->bufs[std::size_t(zero)].mem = z;
    const dnnl::binary::desc d(dnnl::algorithm::binary_add, full, m0, full);
    const dnnl::binary::primitive_desc pd(d, eng_);
    const int spread = newBuffer(full);
    addStep(
        dnnl::binary(pd), pd,
        {{DNNL_ARG_SRC_0, {zero, {}}}, {DNNL_ARG_SRC_1, ref(a, m0)}, {DNNL_ARG_DST, {spread, {}}}},
        op.name, "binary_add(broadcast)");
    a = spread;
    m0 = full;
  }
  if (m1.dims() == out && m1 != m0) {
    b = reorderTo(b, m0, op.name);
    m1 = m0;
  }
  const dnnl::binary::desc d(dnnl::algorithm::binary_add, m0, m1, m0);
  const dnnl::binary::primitive_desc pd(d, eng_);
  const int y = newBuffer(m0);
  // No FLOPs counted (no multiply-adds), so a fused and an unfused Add give one flopsPerForward().
  addStep(dnnl::binary(pd), pd,
          {{DNNL_ARG_SRC_0, ref(a, m0)}, {DNNL_ARG_SRC_1, ref(b, m1)}, {DNNL_ARG_DST, {y, {}}}},
          op.name, "binary_add");
  vals_[op.output] = y;
}

void Builder::buildConcat(int i) {
  const Op& op = p_.ops[std::size_t(i)];
  std::vector<int> srcs;
  for (const std::string& in : op.inputs) srcs.push_back(need(in));
  // 8-bit inputs stay 8-bit when they share a type and a step (the ranges are unified for
  // that); otherwise everything is concatenated in f32.
  const Dt t0 = plan_->bufs[std::size_t(srcs[0])].md.data_type();
  const float scale = plan_->bufs[std::size_t(srcs[0])].scale;
  const bool keep8 = is8bit(t0) && std::all_of(srcs.begin(), srcs.end(), [&](int s) {
                       const Buffer& b = plan_->bufs[std::size_t(s)];
                       return b.md.data_type() == t0 && b.scale == scale;
                     });
  if (!keep8)
    for (int& s : srcs) s = f32Of(s, op.name);
  const Dims d0 = dimsOf(srcs[0]);
  const int64_t rank = int64_t(d0.size());
  const int64_t axis = op.axis < 0 ? op.axis + rank : op.axis;
  if (axis < 0 || axis >= rank)
    throw ShapeError("Concat (node '" + op.name + "'): axis " + std::to_string(op.axis) +
                     " of a rank-" + std::to_string(rank) + " tensor");
  std::vector<Md> mds;
  for (int s : srcs) {
    const Dims d = dimsOf(s);
    bool fits = d.size() == d0.size();
    for (std::size_t k = 0; fits && k < d.size(); ++k) fits = int64_t(k) == axis || d[k] == d0[k];
    if (!fits)
      throw ShapeError("Concat (node '" + op.name + "'): shapes " + dimsStr(d0) + " and " +
                       dimsStr(d) + " differ off axis " + std::to_string(axis));
    mds.push_back(plan_->bufs[std::size_t(s)].md);
  }
  // As laid out if oneDNN has a fast concat for that; else everything plain (channel blocks
  // that do not divide the channel counts cannot be placed side by side).
  dnnl::concat::primitive_desc pd;
  try {
    pd = dnnl::concat::primitive_desc(int(axis), mds, eng_);
  } catch (const dnnl::error&) {  // no implementation for these layouts: plain below
  }
  if (!pd || !fastImpl(pd.impl_info_str())) {
    for (std::size_t k = 0; k < srcs.size(); ++k) {
      // Plain f32 (bf16 and f32 inputs side by side: a graph input beside a conv's output),
      // or plain 8-bit when the inputs share their 8-bit type and step.
      mds[k] = plainMd(mds[k].dims(), keep8 ? t0 : Dt::f32);
      srcs[k] = reorderTo(srcs[k], mds[k], op.name, scale);
    }
    Dims out = d0;
    out[std::size_t(axis)] = 0;
    for (const Md& m : mds) out[std::size_t(axis)] += m.dims()[std::size_t(axis)];
    pd = dnnl::concat::primitive_desc(plainMd(out, keep8 ? t0 : Dt::f32), int(axis), mds, eng_);
  }
  const int y = newBuffer(pd.dst_desc());
  if (keep8) plan_->bufs[std::size_t(y)].scale = scale;
  std::vector<std::pair<int, BufRef>> args;
  for (std::size_t k = 0; k < srcs.size(); ++k)
    args.push_back({DNNL_ARG_MULTIPLE_SRC + int(k), {srcs[k], {}}});
  args.push_back({DNNL_ARG_DST, {y, {}}});
  addStep(dnnl::concat(pd), pd, std::move(args), op.name, "concat");
  vals_[op.output] = y;
}

// out[n, c, h·b + i, w·b + j] = in[n, ch(c, i, j), h, w] with ch = (i·b + j)·C + c (DCR) or
// c·b² + i·b + j (CRD): one reorder per (i, j) from a channel view to a strided view.
void Builder::buildDepthToSpace(const Op& op) {
  int x = f32Of(need(op.inputs[0]), op.name);
  const Dims d = dimsOf(x);
  const int64_t b = op.block;
  if (d.size() != 4 || d[1] % (b * b) != 0)
    throw ShapeError("DepthToSpace (node '" + op.name + "'): input " + dimsStr(d) +
                     " is not 4-D with channels a multiple of " + std::to_string(b * b));
  const int64_t n = d[0], c = d[1] / (b * b), h = d[2], w = d[3];
  x = reorderTo(temporary(x, op.name), plainMd(d), op.name);  // views only of temporaries
  const int y = newBuffer(plainMd({n, c, h * b, w * b}));
  const Md ymd = plan_->bufs[std::size_t(y)].md;
  for (int64_t i = 0; i < b; ++i)
    for (int64_t j = 0; j < b; ++j) {
      const int64_t chStride = op.crd ? b * b * h * w : h * w;
      Md src({n, c, h, w}, Dt::f32, {d[1] * h * w, chStride, w, 1});
      src.data.offset0 = op.crd ? (i * b + j) * h * w : (i * b + j) * c * h * w;
      const Md dst = stridedView(ymd, {n, c, h, w}, i, j, b, b);
      const dnnl::reorder::primitive_desc pd(eng_, src, eng_, dst);
      addStep(dnnl::reorder(pd), pd, {{DNNL_ARG_FROM, {x, src}}, {DNNL_ARG_TO, {y, dst}}}, op.name,
              "reorder(depth_to_space)");
    }
  vals_[op.output] = y;
}

std::unique_ptr<Plan> buildPlan(const Program& p, const onnx::Graph& g,
                                const std::vector<Dims>& inputs, const Options& o,
                                const dnnl::engine& eng, dnnl::stream& strm, bool keepValues) {
  return Builder(p, g, o, eng, strm, keepValues).build(inputs);
}

}  // namespace cae::infer::onednn::detail

#endif  // CAE_HAVE_ONEDNN
